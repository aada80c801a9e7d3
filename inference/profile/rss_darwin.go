//go:build darwin || ios

package profile

import "syscall"

// MaxRSS returns the lifetime maximum resident set size of this process in
// bytes (getrusage's ru_maxrss, already in bytes on Darwin), or 0 if unknown.
func MaxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil || ru.Maxrss <= 0 {
		return 0
	}
	return int64(ru.Maxrss)
}
