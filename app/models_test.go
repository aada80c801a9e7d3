package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sensenova/studio/inference/demo"
	"github.com/sensenova/studio/inference/hub"
	"github.com/sensenova/studio/internal/hubtest"
)

// TestDownloadModelFromHub downloads a checkpoint (the demo model's files,
// served by a fake hub on loopback) into a folder, which becomes the model
// and loads; a second download finds it complete and fetches nothing.
func TestDownloadModelFromHub(t *testing.T) {
	src, err := demo.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const repo = "sensenova/Demo-Checkpoint"
	h := hubtest.Serve(t, repo, src)
	s, statuses := newTestStudio(t)
	if !s.NeedsFirstRun() {
		t.Error("a studio with no model folder and no first run does not ask for one")
	}
	if err := s.updateSettings(func(st *Settings) { st.HubEndpoint = h.URL + "/" }); err != nil {
		t.Fatal(err)
	}
	if got := s.HubEndpoint(); got != h.URL {
		t.Errorf("endpoint %q, want %q", got, h.URL)
	}
	dest := filepath.Join(t.TempDir(), "model")
	var mu sync.Mutex
	var last hub.Progress
	reports := 0
	res, err := s.DownloadModel(context.Background(), hub.Model{Name: "Demo", Repo: repo}, dest, func(p hub.Progress) {
		mu.Lock()
		last = p
		reports++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != dest || res.Source != hub.SourceDownloaded || res.Fetched != res.Bytes || res.Bytes == 0 {
		t.Errorf("result %+v, want all %d bytes fetched into %s", res, res.Bytes, dest)
	}
	if h.Bytes.Load() != res.Bytes {
		t.Errorf("the hub served %d bytes for a %d-byte snapshot", h.Bytes.Load(), res.Bytes)
	}
	mu.Lock()
	if reports == 0 || last.Phase != hub.PhaseDone || last.BytesDone != res.Bytes {
		t.Errorf("%d progress reports, the last %+v", reports, last)
	}
	mu.Unlock()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		want, _ := os.ReadFile(filepath.Join(src, e.Name()))
		got, err := os.ReadFile(filepath.Join(dest, e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from the hub's copy (%v)", e.Name(), err)
		}
	}
	if s.Settings().ModelDir != dest || s.NeedsFirstRun() {
		t.Errorf("model folder %q after the download, want %q", s.Settings().ModelDir, dest)
	}
	if m := waitModel(t, s, statuses); m.Dir != dest {
		t.Errorf("loaded %q, want the downloaded folder", m.Dir)
	}

	served := h.Bytes.Load()
	again, err := s.DownloadModel(context.Background(), hub.Model{Name: "Demo", Repo: repo}, dest, nil)
	if err != nil || again.Source != hub.SourceLocal || h.Bytes.Load() != served {
		t.Errorf("second download: %+v, %v; %d more bytes served", again, err, h.Bytes.Load()-served)
	}

	if err := s.FinishFirstRun(); err != nil {
		t.Fatal(err)
	}
	saved, err := LoadSettings(s.SettingsPath())
	if err != nil || !saved.FirstRunDone || saved.HubEndpoint != h.URL+"/" {
		t.Errorf("saved settings %+v, %v", saved, err)
	}
}

func TestSettingsRejectABadHubEndpoint(t *testing.T) {
	for _, ep := range []string{"huggingface.co", "ftp://mirror", "https://"} {
		if err := (Settings{HubEndpoint: ep}).Validate(); err == nil {
			t.Errorf("hub_endpoint %q accepted", ep)
		}
	}
	if err := (Settings{HubEndpoint: "https://hf-mirror.com"}).Validate(); err != nil {
		t.Error(err)
	}
}
