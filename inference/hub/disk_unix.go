//go:build linux || darwin || freebsd

package hub

import "syscall"

// diskFree is the space an unprivileged user can still write on the file
// system holding dir (statfs: available blocks × block size).
func diskFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	avail, bsize := int64(st.Bavail), int64(st.Bsize)
	if avail < 0 || bsize <= 0 {
		return 0, nil
	}
	return avail * bsize, nil
}
