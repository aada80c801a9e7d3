// Package e2e holds the end-to-end test of the desktop app in a real
// window: Xvfb, the real binaries, xdotool for the keyboard, ImageMagick's
// import for screenshots. It needs those programs (make test installs them
// on Debian/Ubuntu); without an X server program it is skipped, saying so.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWindowMakesAPicture starts bin/sensenova-studio on a virtual display
// with no model configured (so the built-in demo model), types a prompt,
// presses Ctrl+Enter (Generate), waits for the result, takes a screenshot
// and checks that the result area shows the generated picture and that the
// history has its record.
func TestWindowMakesAPicture(t *testing.T) {
	for _, prog := range []string{"Xvfb", "xdotool", "import"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s is not installed (Xvfb display test: make test installs xvfb, xdotool and imagemagick)", prog)
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	for _, b := range [][2]string{{"sensenova", "./inference/cmd/sensenova"}, {"sensenova-studio", "."}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b[0]), b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b[0], err, out)
		}
	}

	display := startXvfb(t)
	home := filepath.Join(tmp, "home")
	history := filepath.Join(tmp, "history")
	cfg := filepath.Join(home, ".config", "sensenova-studio")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "settings.json"), []byte(fmt.Sprintf(`{"output_dir": %q, "first_run_done": true}`, history)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "LANG=en_US.UTF-8", "LIBGL_ALWAYS_SOFTWARE=1")
	studio := exec.Command(filepath.Join(bin, "sensenova-studio"))
	studio.Env = env
	logFile, _ := os.Create(filepath.Join(tmp, "studio.log"))
	studio.Stdout, studio.Stderr = logFile, logFile
	if err := studio.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		studio.Process.Kill()
		studio.Wait()
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(tmp, "studio.log")); err == nil {
				t.Logf("studio log:\n%s", log)
			}
		}
	})

	xdo := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("xdotool", args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	win := waitFor(t, 60*time.Second, "the studio window", func() (string, bool) {
		cmd := exec.Command("xdotool", "search", "--name", "SenseNova Studio")
		cmd.Env = env
		out, err := cmd.Output()
		ids := strings.Fields(string(out))
		return strings.Join(ids, " "), err == nil && len(ids) > 0
	})
	win = strings.Fields(win)[0]
	// Let the engine load the demo model and the window settle.
	time.Sleep(3 * time.Second)
	xdo("windowfocus", "--sync", win) // no window manager: focus directly
	before := screenshot(t, env, filepath.Join(tmp, "before.png"))

	// The prompt box has the focus when the window opens.
	xdo("type", "--delay", "20", "a red fox in fresh snow")
	xdo("key", "ctrl+Return")

	entryJSON := waitFor(t, 180*time.Second, "a history record", func() (string, bool) {
		m, _ := filepath.Glob(filepath.Join(history, "*.json"))
		if len(m) == 0 {
			return "", false
		}
		return m[0], true
	})
	time.Sleep(1500 * time.Millisecond) // the result is drawn
	after := screenshot(t, env, filepath.Join(tmp, "after.png"))
	if dir := os.Getenv("SENSENOVA_SCREENSHOTS"); dir != "" {
		data, _ := os.ReadFile(filepath.Join(tmp, "after.png"))
		os.WriteFile(filepath.Join(dir, "window.png"), data, 0o644)
	}

	var entry struct {
		Prompt   string   `json:"prompt"`
		Pictures []string `json:"pictures"`
	}
	data, err := os.ReadFile(entryJSON)
	if err != nil || json.Unmarshal(data, &entry) != nil || len(entry.Pictures) != 1 {
		t.Fatalf("history record %s: %s (%v)", entryJSON, data, err)
	}
	if entry.Prompt != "a red fox in fresh snow" {
		t.Errorf("the record's prompt is %q", entry.Prompt)
	}
	result := readPNG(t, filepath.Join(history, entry.Pictures[0]))
	// The picture's colours are on screen after, not before.
	got, was := colourCoverage(result, after), colourCoverage(result, before)
	t.Logf("colours of the result found on screen: %.0f%% after, %.0f%% before", 100*got, 100*was)
	if got < 0.9 || was > 0.5 {
		t.Errorf("the result area does not show the generated picture (%.0f%% of its colours on screen after, %.0f%% before)", 100*got, 100*was)
	}
}

// startXvfb starts a virtual display and returns its name. Xvfb picks a
// free display number itself (-displayfd) and reports it once it accepts
// connections, so parallel test runs on one machine cannot collide.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x900x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	number := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		number <- strings.TrimSpace(line)
	}()
	select {
	case n := <-number:
		if n == "" {
			t.Fatal("Xvfb exited without reporting a display")
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not report its display within 20 s")
	}
	return ""
}

func waitFor(t *testing.T, d time.Duration, what string, f func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if v, ok := f(); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func screenshot(t *testing.T, env []string, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	return readPNG(t, path)
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// colourCoverage samples colours of pic and returns the fraction of them
// found (within a small tolerance, as scaling blends neighbours) somewhere
// on screen.
func colourCoverage(pic, screen image.Image) float64 {
	type rgb struct{ r, g, b int }
	present := map[rgb]bool{}
	sb := screen.Bounds()
	const q = 8 // quantisation step of the lookup
	for y := sb.Min.Y; y < sb.Max.Y; y++ {
		for x := sb.Min.X; x < sb.Max.X; x++ {
			r, g, b, _ := screen.At(x, y).RGBA()
			present[rgb{int(r>>8) / q, int(g>>8) / q, int(b>>8) / q}] = true
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	pb := pic.Bounds()
	found, n := 0, 200
	for i := 0; i < n; i++ {
		r, g, b, _ := pic.At(pb.Min.X+rng.IntN(pb.Dx()), pb.Min.Y+rng.IntN(pb.Dy())).RGBA()
		c := rgb{int(r>>8) / q, int(g>>8) / q, int(b>>8) / q}
		hit := false
		for dr := -1; dr <= 1 && !hit; dr++ {
			for dg := -1; dg <= 1 && !hit; dg++ {
				for db := -1; db <= 1 && !hit; db++ {
					hit = present[rgb{c.r + dr, c.g + dg, c.b + db}]
				}
			}
		}
		if hit {
			found++
		}
	}
	return float64(found) / float64(n)
}
