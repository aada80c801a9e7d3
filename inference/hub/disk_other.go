//go:build !(linux || darwin || freebsd)

package hub

// diskFree reports the free space as unknown on systems without a
// standard-library statfs (Windows among them): the check before a
// download is skipped there, and a full disk shows as a failed write.
func diskFree(string) (int64, error) {
	return 0, errSpaceUnknown
}
