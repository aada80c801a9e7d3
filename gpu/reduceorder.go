package gpu

// torchReduceWidth returns how torch's reduction kernel sums each row when
// it takes the mean over rows of n values (ReduceConfig.set_block_dimension
// with 512 threads at most): the threads per row, bw, and whether it loads
// four values at a time (rows of 128 or more, a multiple of 4). The norm
// kernels add in that order (gpu/kernels/norm.cu).
func torchReduceWidth(n, rows int64) (bw int, vec bool) {
	const maxThreads = 512
	dim0 := n
	if vec = n >= 128 && n%4 == 0; vec {
		dim0 = n / 4
	}
	pow2 := func(v int64) int64 {
		if v >= maxThreads {
			return maxThreads
		}
		p := int64(1)
		for p*2 <= v {
			p *= 2
		}
		return p
	}
	d0, d1 := pow2(dim0), pow2(rows)
	w := min(d0, 32)
	h := min(d1, maxThreads/w)
	return int(min(d0, maxThreads/h)), vec
}
