package hub

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/sensenova/studio/internal/atomicfile"
)

// partState is the sidecar of a part file: what it is a part of, and which
// of its byte ranges hold synced data.
type partState struct {
	Version int    `json:"version"`
	Repo    string `json:"repo"`
	Commit  string `json:"commit"`
	File    string `json:"file"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256,omitempty"`
	BlobID  string `json:"blob_id,omitempty"`
	// ETag is the one the file's server sent first; for a file with
	// neither SHA-256 nor blob id, another ETag means another file.
	ETag string `json:"etag,omitempty"`
	// Done are the half-open ranges [start, end) written and synced.
	Done [][2]int64 `json:"done"`
}

const partStateVersion = 1

func readPartState(p string) (partState, error) {
	var ps partState
	data, err := os.ReadFile(p)
	if err != nil {
		return ps, err
	}
	if err := json.Unmarshal(data, &ps); err != nil {
		return ps, fmt.Errorf("hub: %s: %w", p, err)
	}
	if ps.Version != partStateVersion {
		return ps, fmt.Errorf("hub: %s has version %d, want %d", p, ps.Version, partStateVersion)
	}
	return ps, nil
}

func writePartState(p string, ps partState) error {
	data, err := json.Marshal(ps)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(p, data, 0o644)
}

// matches reports whether a recorded part belongs to f of the snapshot
// with commit: an LFS file is identified by its SHA-256 (whatever the
// commit), a git file by its blob id, and a file with neither only within
// the same commit.
func (ps partState) matches(repo, commit string, f File) bool {
	if ps.Repo != repo || ps.File != f.Name || ps.Size != f.Size || ps.SHA256 != f.SHA256 || ps.BlobID != f.BlobID {
		return false
	}
	return f.SHA256 != "" || f.BlobID != "" || ps.Commit == commit
}
