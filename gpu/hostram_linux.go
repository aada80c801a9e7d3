package gpu

import "os"

func hostRAMBytes() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	total := parseMemTotal(data)
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if data, err := os.ReadFile(f); err == nil {
			if limit := parseCgroupLimit(data); limit > 0 && limit < total {
				total = limit
			}
		}
	}
	return total
}
