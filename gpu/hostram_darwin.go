package gpu

import (
	"encoding/binary"
	"syscall"
)

func hostRAMBytes() int64 {
	s, err := syscall.Sysctl("hw.memsize")
	if err != nil || len(s) == 0 || len(s) > 8 {
		return 0
	}
	// syscall.Sysctl drops a trailing NUL byte, which for this little-endian
	// uint64 is a high-order zero: pad it back.
	var b [8]byte
	copy(b[:], s)
	return int64(binary.LittleEndian.Uint64(b[:]))
}
