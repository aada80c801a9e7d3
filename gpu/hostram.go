package gpu

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// HostRAMBytes returns this machine's memory in bytes, or 0 if it cannot be
// read. Linux: MemTotal of /proc/meminfo, lowered to the memory limit of the
// process's cgroup (v2 memory.max, v1 memory.limit_in_bytes) when that is
// smaller, since pinned buffers count against it. Windows: the physical
// memory GlobalMemoryStatusEx reports. macOS: sysctl hw.memsize. Other
// systems: 0. ChoosePreset takes 0 as unknown: it keeps the card's preset
// and its reason says how much RAM that needs.
func HostRAMBytes() int64 { return hostRAMBytes() }

// parseMemTotal returns MemTotal of a /proc/meminfo text in bytes, or 0.
func parseMemTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// parseCgroupLimit returns a cgroup memory limit in bytes, or 0 for "max",
// an unset (page-rounded MaxInt64) limit or anything unreadable.
func parseCgroupLimit(text []byte) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(string(text)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
