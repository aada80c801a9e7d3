package hub

import (
	"fmt"
	"time"
)

// Phase is what a download is doing.
type Phase string

// The phases of Downloader.Download, in order.
const (
	// PhaseListing: asking the endpoint for the file list.
	PhaseListing Phase = "listing"
	// PhaseChecking: hashing files already in the destination that no
	// manifest vouches for.
	PhaseChecking Phase = "checking"
	// PhaseDownloading: fetching bytes.
	PhaseDownloading Phase = "downloading"
	// PhaseVerifying: hashing a fully fetched file before it is put in
	// place.
	PhaseVerifying Phase = "verifying"
	// PhaseDone: every file is in place (or a complete copy was found).
	PhaseDone Phase = "done"
)

// Progress is one progress report. Byte counts cover the whole snapshot:
// files already complete and bytes recorded by an earlier, interrupted
// run count as done from the start.
type Progress struct {
	Phase Phase `json:"phase"`
	// Repo and Commit name the snapshot (Commit is empty while listing).
	Repo   string `json:"repo"`
	Commit string `json:"commit,omitempty"`
	// File is the file this report is about ("" for the whole download).
	File       string `json:"file,omitempty"`
	FilesDone  int    `json:"files_done"`
	FilesTotal int    `json:"files_total"`
	BytesDone  int64  `json:"bytes_done"`
	BytesTotal int64  `json:"bytes_total"`
	// BytesPerSecond is the transfer rate over the last few seconds; 0
	// until measured.
	BytesPerSecond float64 `json:"bytes_per_second"`
	// ETA is the time left at that rate; negative when unknown.
	ETA time.Duration `json:"eta_ns"`
}

// Fraction is the part done, between 0 and 1.
func (p Progress) Fraction() float64 {
	if p.BytesTotal <= 0 {
		if p.Phase == PhaseDone {
			return 1
		}
		return 0
	}
	return float64(p.BytesDone) / float64(p.BytesTotal)
}

// meter measures a transfer rate over a sliding window of samples.
type meter struct {
	window  time.Duration
	samples []sample
}

type sample struct {
	t     time.Time
	bytes int64 // bytes transferred so far
}

// minSpan is the shortest span of samples a rate is computed from, so the
// first reads do not give absurd rates.
const minSpan = 500 * time.Millisecond

// add records that n bytes had been transferred at t.
func (m *meter) add(t time.Time, n int64) {
	m.samples = append(m.samples, sample{t, n})
	// Keep one sample at or before the window's start.
	cut := 0
	for i := 1; i < len(m.samples) && t.Sub(m.samples[i].t) >= m.window; i++ {
		cut = i
	}
	if cut > 0 {
		m.samples = append(m.samples[:0], m.samples[cut:]...)
	}
}

// rate is bytes per second over the window; 0 when not yet measurable.
func (m *meter) rate() float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	dt := last.t.Sub(first.t)
	if dt < minSpan {
		return 0
	}
	return float64(last.bytes-first.bytes) / dt.Seconds()
}

// eta is the time left for remaining bytes at rate; -1 when unknown.
func eta(remaining int64, rate float64) time.Duration {
	if remaining <= 0 {
		return 0
	}
	if rate <= 0 {
		return -1
	}
	secs := float64(remaining) / rate
	if secs > 1e6 {
		return -1
	}
	return time.Duration(secs * float64(time.Second))
}

// FormatBytes writes a size in decimal units, as download sizes are
// usually quoted: "512 B", "4.7 MB", "35.1 GB".
func FormatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTPE"[i-1])
}
