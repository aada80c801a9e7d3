//go:build !linux && !windows && !darwin

package gpu

func hostRAMBytes() int64 { return 0 }
