package gpu

import "testing"

// The widths torch 2.11 uses to take the mean over rows (ReduceConfig, 512
// threads at most), as measured on the H100 by matching its float32 sums
// bit for bit with each candidate order over thousands of rows; the norm
// kernels follow them.
func TestTorchReduceWidth(t *testing.T) {
	for _, c := range []struct {
		n, rows int64
		bw      int
		vec     bool
	}{
		{16, 200000, 16, false}, // q/k norm halves of head_dim 32
		{64, 1, 64, false},      // the real q/k norm halves, one row
		{64, 32, 32, false},     // … one decoded token's 32 heads
		{128, 1, 32, true},      // the tiny checkpoints' hidden size
		{128, 200000, 32, true}, //
		{4096, 1, 512, true},    // the real hidden size: one decoded token
		{4096, 2, 256, true},    //
		{4096, 8, 64, true},     //
		{4096, 4000, 32, true},  // a prefill
	} {
		bw, vec := torchReduceWidth(c.n, c.rows)
		if bw != c.bw || vec != c.vec {
			t.Errorf("torchReduceWidth(%d, %d) = %d, %v; torch uses %d, %v", c.n, c.rows, bw, vec, c.bw, c.vec)
		}
	}
}
