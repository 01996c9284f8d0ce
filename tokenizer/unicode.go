package tokenizer

import "unicode"

// The character classes of Rust's char methods and of the unicode_categories crate,
// which the Hugging Face components test with.

// isWhitespace is Rust's char::is_whitespace (the White_Space property).
func isWhitespace(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// isBertPunctuation is the punctuation of BertPreTokenizer and Punctuation: ASCII punctuation (which includes $, +,
// <, =, >, ^, `, | and ~, symbols in Unicode) or a P category.
func isBertPunctuation(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isNumeric is Rust's char::is_numeric (Nd, Nl, No).
func isNumeric(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isAlphanumeric is Rust's char::is_alphanumeric (Alphabetic or Numeric).
func isAlphanumeric(r rune) bool {
	if r < 0x80 {
		return (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r)
}

// isWordChar is the added-token boundary test: alphanumeric or '_'.
func isWordChar(r rune) bool { return r == '_' || isAlphanumeric(r) }

// isMarkNonspacing is category Mn.
func isMarkNonspacing(r rune) bool { return r >= 0x300 && unicode.Is(unicode.Mn, r) }

// isBertControl is BertNormalizer's control test: categories Cc, Cf, Cs and Co
// (tab, newline and carriage return count as whitespace instead).
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < 0x80 {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isBertWhitespace counts tab, newline and carriage return as whitespace.
func isBertWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || (r >= 0x80 && isWhitespace(r)) || r == '\v' || r == '\f'
}

// isChineseChar is BertNormalizer's CJK test (the CJK Unified Ideographs blocks).
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

// lowerRune appends Rust's char::to_lowercase of r: Unicode's simple lower-case
// mapping, except İ, which lowers to i and a combining dot.
func lowerRune(out []rune, r rune) []rune {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(out, r)
	}
	if r == 'İ' {
		return append(out, 'i', '\u0307')
	}
	return append(out, unicode.ToLower(r))
}
