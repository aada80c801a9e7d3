//go:build linux

package profile

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// MaxRSS returns the lifetime maximum resident set size of this process in
// bytes: getrusage's ru_maxrss (KiB on Linux) × 1024, or, should that fail,
// the VmHWM line of /proc/self/status. It returns 0 if neither is readable.
func MaxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil && ru.Maxrss > 0 {
		return int64(ru.Maxrss) * 1024
	}
	return vmHWM()
}

// vmHWM reads the "VmHWM:  <n> kB" line of /proc/self/status.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0
		}
		kib, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kib < 0 {
			return 0
		}
		return kib * 1024
	}
	return 0
}
