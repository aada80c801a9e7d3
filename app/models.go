package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/sensenova/studio/inference/hub"
)

// The model manager: the checkpoints the window offers, their download from
// a Hugging Face compatible endpoint (inference/hub: parallel ranges,
// resumable, every file's size and sha256 verified, an existing Hugging Face
// cache reused), and the first-run state.

// Models lists the official checkpoints, the recommended one first.
func Models() []hub.Model { return hub.Catalogue() }

// DefaultModelDir is where a checkpoint is downloaded unless the user picks
// another folder.
func DefaultModelDir(m hub.Model) (string, error) { return hub.DefaultDir(m.Repo) }

// hubConfig is the environment's hub configuration with the settings'
// endpoint, when set, in place of $HF_ENDPOINT.
func (s *Studio) hubConfig() hub.Config {
	cfg := hub.ConfigFromEnv(os.Getenv)
	if ep := s.Settings().HubEndpoint; ep != "" {
		cfg.Endpoint = strings.TrimRight(ep, "/")
	}
	return cfg
}

// HubEndpoint is the endpoint downloads use.
func (s *Studio) HubEndpoint() string {
	if ep := s.hubConfig().Endpoint; ep != "" {
		return ep
	}
	return hub.DefaultEndpoint
}

// DownloadModel fetches m into dest (resuming an earlier, interrupted
// download there; returning at once when dest or the Hugging Face cache
// already holds it), then makes it the model and loads it. progress, when
// set, is called from the download's goroutines. Cancelling ctx stops the
// download and keeps what was fetched for the next call.
func (s *Studio) DownloadModel(ctx context.Context, m hub.Model, dest string, progress func(hub.Progress)) (hub.Result, error) {
	c, err := hub.NewClient(s.hubConfig(), nil)
	if err != nil {
		return hub.Result{}, err
	}
	d := &hub.Downloader{Client: c, Progress: progress}
	res, err := d.Download(ctx, m.Repo, hub.DefaultRevision, dest)
	if err != nil {
		return res, err
	}
	if err := s.SetModelDir(res.Path); err != nil {
		return res, fmt.Errorf("%s was downloaded to %s, but it cannot be used: %w", m.Name, res.Path, err)
	}
	return res, nil
}

// NeedsFirstRun reports whether the window should welcome the user: the
// first-run flow was never finished and no model folder is set.
func (s *Studio) NeedsFirstRun() bool {
	st := s.Settings()
	return !st.FirstRunDone && st.ModelDir == ""
}

// FinishFirstRun records that the first-run flow is done.
func (s *Studio) FinishFirstRun() error {
	return s.updateSettings(func(st *Settings) { st.FirstRunDone = true })
}
