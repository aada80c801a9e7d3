//go:build linux

package profile

import "testing"

// TestVmHWM checks the /proc fallback of MaxRSS parses. Its figure may
// differ from getrusage's (some kernels and sandboxes count differently),
// so only its sign is checked.
func TestVmHWM(t *testing.T) {
	if hwm := vmHWM(); hwm <= 0 {
		t.Skipf("VmHWM not readable here (%d)", hwm)
	}
}
