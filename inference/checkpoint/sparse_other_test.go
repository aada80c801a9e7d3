//go:build !unix

package checkpoint

// allocatedBytes is unknown off Unix.
func allocatedBytes(string) (int64, bool) { return 0, false }
