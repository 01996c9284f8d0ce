package ops

import (
	"fmt"
	"math"
)

// MaskValue is what AttentionScores writes at causally hidden positions: the most
// negative float32, as Hugging Face's models use (torch.finfo(float32).min), so that a
// fully masked row stays finite where they keep it finite.
const MaskValue = -math.MaxFloat32

// AttentionScores computes one head's scaled, masked attention logits:
//
//	dst[i*tk+j] = scale · (q_i · k_j)          then
//	dst[i*tk+j] = MaskValue                     if causal and j > past+i
//	dst[i*tk+j] += keyMask[j]                   if keyMask is not nil
//
// q is tq×d (row stride ldq), k is tk×d (row stride ldk), dst is tq×tk. past is the
// number of cached positions before the first query, so query i sits at absolute
// position past+i (0 for a prefill). keyMask is an additive per-key mask (0 where
// attended, a large negative value at padding), as BERT and batched GPT-2 use.
func AttentionScores(p *Pool, dst, q []float32, ldq int, k []float32, ldk int, tq, tk, d int, scale float32, causal bool, past int, keyMask []float32) error {
	if len(dst) < tq*tk {
		return fmt.Errorf("%w: AttentionScores needs %d×%d = %d scores, dst has %d", ErrArgs, tq, tk, tq*tk, len(dst))
	}
	if keyMask != nil && len(keyMask) < tk {
		return fmt.Errorf("%w: AttentionScores key mask has %d entries for %d keys", ErrArgs, len(keyMask), tk)
	}
	if causal && past < 0 {
		return fmt.Errorf("%w: AttentionScores past = %d", ErrArgs, past)
	}
	if err := Sgemm(p, false, true, tq, tk, d, scale, q, ldq, k, ldk, 0, dst, tk); err != nil {
		return err
	}
	for i := 0; i < tq; i++ {
		row := dst[i*tk : i*tk+tk]
		if causal {
			for j := past + i + 1; j < tk; j++ {
				row[j] = MaskValue
			}
		}
		if keyMask != nil {
			for j, m := range keyMask[:tk] {
				row[j] += m
			}
		}
	}
	return nil
}
