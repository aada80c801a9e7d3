package prompt

import "fmt"

// Visible reports whether query token i may attend to key token j under the
// block-causal rule of MODEL.md 3.4: j ≤ i, or j has the same t as i (the
// tokens of one picture see each other). t holds the positions of the whole
// sequence (cache followed by new tokens), so the same rule covers a prompt
// prefill, a decoded token, an appended text block and an appended re-encoded
// picture with its </img>.
func Visible(t []int, i, j int) bool {
	return j <= i || t[j] == t[i]
}

// KeyLimits returns, for every query token i, the number of leading keys it
// may attend to: under the block-causal rule with non-decreasing t the
// visible keys of i are exactly [0, KeyLimits[i]) — everything up to i plus
// the rest of i's own t-run. Attention kernels use this instead of an S×S
// mask. It is an error for t to decrease.
func KeyLimits(t []int) ([]int, error) {
	lim := make([]int, len(t))
	for i := len(t) - 1; i >= 0; i-- {
		switch {
		case i+1 < len(t) && t[i+1] < t[i]:
			return nil, fmt.Errorf("prompt: position t decreases at token %d (%d after %d)", i+1, t[i+1], t[i])
		case i+1 < len(t) && t[i+1] == t[i]:
			lim[i] = lim[i+1]
		default:
			lim[i] = i + 1
		}
	}
	return lim, nil
}
