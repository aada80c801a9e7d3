package ui

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/inference/protocol"
)

// TestGPUScreenOnThisMachine asks the real engine (built without CUDA):
// the screen says plainly that no GPU is usable and shows the preset and
// its reason.
func TestGPUScreenOnThisMachine(t *testing.T) {
	w, studio := newTestWindow(t)
	g := w.Screen(tabGPU).(*gpuScreen)
	eventually(t, 30*time.Second, "the GPU report arrives", func() bool { return g.report != nil && !g.refreshBtn.Disabled() })

	raw, err := studio.GPU(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want protocol.GPUReport
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if want.CUDA {
		t.Skip("this engine has CUDA; the no-CUDA message does not apply")
	}
	fyne.DoAndWait(func() {
		if !strings.HasPrefix(g.state.Text, "No NVIDIA GPU is usable by this engine build: ") ||
			!strings.Contains(g.state.Text, want.Error) || !strings.HasSuffix(g.state.Text, "the engine runs on the CPU.") {
			t.Errorf("state %q, want the no-CUDA sentence with %q", g.state.Text, want.Error)
		}
		if len(g.devices.Objects) != 0 {
			t.Errorf("%d device cards without a device", len(g.devices.Objects))
		}
		if want.Preset.Reason == "" || !strings.Contains(g.reason.Text, want.Preset.Reason) {
			t.Errorf("reason %q, want %q", g.reason.Text, want.Preset.Reason)
		}
		if !strings.Contains(g.presetHead.Text, "vram_mode "+want.Preset.VRAMMode) {
			t.Errorf("preset %q, want vram_mode %s", g.presetHead.Text, want.Preset.VRAMMode)
		}
		if !strings.Contains(g.host.Text, "Host memory (RAM): ") || strings.Contains(g.host.Text, "unknown") {
			t.Errorf("host memory %q", g.host.Text)
		}
	})

	// Refresh asks again.
	asked := 0
	fyne.DoAndWait(func() {
		fetch := g.fetch
		g.fetch = func(ctx context.Context) (json.RawMessage, error) { asked++; return fetch(ctx) }
		test.Tap(g.refreshBtn)
	})
	eventually(t, 30*time.Second, "the refreshed report arrives", func() bool {
		return !g.refreshBtn.Disabled() && strings.HasPrefix(g.state.Text, "No NVIDIA GPU")
	})
	if asked != 1 {
		t.Errorf("Refresh asked the engine %d times, want 1", asked)
	}

	// The override is validated.
	fyne.DoAndWait(func() {
		if !g.maxMemory.Disabled() {
			t.Error("the GiB entry is enabled in auto mode")
		}
		g.mode.SetSelected(gpuModeBalanced)
		if g.maxMemory.Disabled() {
			t.Error("the GiB entry is disabled in balanced mode")
		}
	})
	for _, bad := range []struct{ text, want string }{
		{"", "needs the GPU memory"},
		{"lots", "is not a number"},
		{"0.5", "out of range"},
		{"5000", "out of range"},
	} {
		fyne.DoAndWait(func() {
			g.maxMemory.SetText("")
			test.Type(g.maxMemory, bad.text)
			test.Tap(g.applyBtn)
			if !strings.Contains(g.overrideMsg.Text, bad.want) || g.overrideMsg.Importance != widget.DangerImportance {
				t.Errorf("GiB %q: message %q, want %q", bad.text, g.overrideMsg.Text, bad.want)
			}
			if g.override.Mode != gpuModeAuto {
				t.Errorf("GiB %q was accepted: %+v", bad.text, g.override)
			}
		})
	}
	fyne.DoAndWait(func() {
		g.maxMemory.SetText("")
		test.Type(g.maxMemory, "12")
		test.Tap(g.applyBtn)
		if g.override != (gpuOverride{Mode: gpuModeBalanced, MaxMemoryGiB: 12}) || !strings.Contains(g.overrideMsg.Text, "balanced with max_memory 12 GiB") {
			t.Errorf("override %+v, message %q", g.override, g.overrideMsg.Text)
		}
	})
}

// TestGPUScreenShowsCards renders a report of a machine with a card (the
// JSON `sensenova gpu` prints on a CUDA build; its preset part is what
// `sensenova gpu --simulate "NVIDIA GeForce RTX 4060 Laptop GPU,8188,32768"`
// prints).
func TestGPUScreenShowsCards(t *testing.T) {
	w, _ := newTestWindow(t)
	g := w.Screen(tabGPU).(*gpuScreen)
	eventually(t, 30*time.Second, "the engine's report arrives", func() bool { return g.report != nil && !g.refreshBtn.Disabled() })
	const report = `{"cuda":true,"driver_api_version":12080,"devices":[{"index":0,"name":"NVIDIA GeForce RTX 4060 Laptop GPU","total_bytes":8585216000,"free_bytes":7861174272,"compute_major":8,"compute_minor":9,"multiprocessors":24}],
	"preset":{"index":0,"name":"NVIDIA GeForce RTX 4060 Laptop GPU","vram_mib":8188,"host_ram_mib":32768,"max_memory_gib":7,"vram_mode":"balanced","runnable":true,"host_ram_needed_mib":30407,
	"reason":"The NVIDIA GeForce RTX 4060 Laptop GPU has 8.0 GiB, so the preset for 8 GB cards keeps 7 GiB of the model on it and the other 25.7 GiB stream from host memory, which needs about 29.7 GiB of RAM."}}`
	var rep protocol.GPUReport
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		t.Fatal(err)
	}
	onUI(t, func() bool {
		g.show(rep)
		if g.state.Text != "1 NVIDIA GPU found; CUDA driver 12.8." {
			t.Errorf("state %q", g.state.Text)
		}
		if len(g.devices.Objects) != 1 {
			t.Errorf("%d device cards, want 1", len(g.devices.Objects))
			return false
		}
		card := g.devices.Objects[0].(*widget.Card)
		if card.Title != "NVIDIA GeForce RTX 4060 Laptop GPU" || !strings.Contains(card.Subtitle, "compute capability 8.9") ||
			!strings.Contains(card.Subtitle, "24 multiprocessors") || !strings.Contains(card.Subtitle, "CUDA driver 12.8") {
			t.Errorf("card %q / %q", card.Title, card.Subtitle)
		}
		mem := labels(card.Content)
		if !historyHas(mem, "8.0 GiB total, 7.3 GiB free") || !historyHas(mem, "The engine runs on this card.") {
			t.Errorf("card content %q", mem)
		}
		if g.host.Text != "Host memory (RAM): 32.0 GiB" {
			t.Errorf("host %q", g.host.Text)
		}
		if !strings.Contains(g.presetHead.Text, "vram_mode balanced, max_memory 7 GiB") || !strings.HasPrefix(g.reason.Text, "The NVIDIA GeForce RTX 4060") {
			t.Errorf("preset %q, reason %q", g.presetHead.Text, g.reason.Text)
		}
		g.mode.SetSelected(gpuModeLow)
		return true
	})
	// The card's memory bounds the override.
	fyne.DoAndWait(func() {
		test.Type(g.maxMemory, "9")
		test.Tap(g.applyBtn)
		if !strings.Contains(g.overrideMsg.Text, "between 1 and 8 GiB") {
			t.Errorf("9 GiB on an 8 GiB card: %q", g.overrideMsg.Text)
		}
	})
}

// TestScreenshotGPU renders the GPU screen as this machine's engine
// reports it.
func TestScreenshotGPU(t *testing.T) {
	w, _ := newTestWindow(t)
	g := w.Screen(tabGPU).(*gpuScreen)
	fyne.DoAndWait(func() {
		w.Select(tabGPU)
		w.Resize(fyne.NewSize(1180, 800))
	})
	eventually(t, 30*time.Second, "the GPU report arrives", func() bool { return g.report != nil && !g.refreshBtn.Disabled() })
	hgsScreenshot(t, w, "gpu")
}
