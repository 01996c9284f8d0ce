// Package tokenizer is a pure-Go engine for Hugging Face tokenizers: it reads a
// tokenizer.json (or the legacy vocab.txt, or vocab.json with merges.txt) and
// encodes text byte-exactly as the Rust tokenizers library (0.20.3) does: the
// same ids, tokens, offsets, masks, type and word ids, overflow, and decoded
// text (tested against goldens made by tools/tokenizers/make_goldens.py).
//
// A tokenizer is a pipeline of components, each a configuration of one engine:
//
//	added tokens → normalizer → pre-tokenizer → model → post-processor
//	                                                 (ids → decoder → text)
//
// Normalizers: BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, Strip,
// StripAccents, Replace (string or regex), Prepend, Nmt, Precompiled
// (SentencePiece's charsmap), ByteLevel, Sequence. Pre-tokenizers:
// BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace, Split
// (every behaviour, invert), Punctuation, Digits, CharDelimiterSplit,
// UnicodeScripts, Sequence. Models: WordPiece, BPE (byte fallback, subword
// prefix, word suffix, ignore_merges, fuse_unk), Unigram (byte fallback),
// WordLevel. Post-processors: TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel, Sequence. Decoders: ByteLevel, WordPiece,
// Metaspace, BPEDecoder, ByteFallback, Fuse, Strip, Replace, CTC, Sequence.
// BPE dropout is refused (encoding would be random).
//
// Regular expressions (Split, Replace) run on github.com/dlclark/regexp2, a
// backtracking engine with look-around and Unicode classes, which the split
// expressions of GPT-2, Llama-3 and Qwen2 need and Go's regexp lacks; GPT-2's
// expression has a hand-written scanner, several times faster. Unicode
// normalisation is golang.org/x/text/unicode/norm, with HF's alignment rules.
//
// Offsets: Encoding.Offsets are byte spans of the input (what Go slices with),
// Encoding.CharOffsets the same spans in characters, as Python reports them.
// Input that is not valid UTF-8 (which a Go string may hold and a Python string
// cannot) is read with each bad byte as U+FFFD spanning that one byte, in every
// pipeline; decoding returns valid UTF-8, ill-formed byte sequences as U+FFFD.
// Decode refuses ids the tokenizer does not have (ErrUnknownID) where Python
// silently drops them.
//
// A Tokenizer is immutable and safe for concurrent use; EncodeBatch encodes in
// parallel. BPE keeps a bounded cache of merged words (8 MiB) and merges in
// O(n log n), so hostile input (a 300 KB word, a megabyte of special tokens)
// costs time linear-ish in its size.
package tokenizer
