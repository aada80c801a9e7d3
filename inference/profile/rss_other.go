//go:build !linux && !freebsd && !netbsd && !openbsd && !dragonfly && !darwin && !ios && !windows

package profile

// MaxRSS returns 0: the maximum resident set size is not known on this
// operating system.
func MaxRSS() int64 { return 0 }
