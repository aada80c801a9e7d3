package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// buildBinary builds the real sensenova binary into a temporary folder
// (go build from the module root; the build cache makes repeats cheap).
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			t.Skip("no go tool to build the binary with")
		}
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(root) == root {
			t.Fatal("no go.mod above the test's folder")
		}
	}
	bin := filepath.Join(t.TempDir(), "sensenova")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "./inference/cmd/sensenova")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs the binary and returns its exit status and output.
func runBinary(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// TestBinaryT2IParity builds the real binary and runs the golden
// text-to-image case with the parity flags; then Ctrl-C (SIGINT) on a long
// run must stop it with status 130 and no output file.
func TestBinaryT2IParity(t *testing.T) {
	bin := buildBinary(t)
	g := openGolden(t, "mlphead")
	var c = g.cases.Cases[0]
	if c.Name != "t2i_cfg" {
		t.Fatalf("first case is %s", c.Name)
	}
	tmp := t.TempDir()
	noise := g.extract(t, filepath.Join(tmp, "noise.safetensors"), map[string]string{"mlphead.t2i_cfg.noise": "noise"})
	out, raw := filepath.Join(tmp, "fox.png"), filepath.Join(tmp, "raw.safetensors")
	args := append(t2iArgs(g.dir, c), "--output", out, "--init_noise", noise, "--output_raw", raw)
	code, stdout, stderr := runBinary(t, bin, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	canvas, shape := readRaw(t, raw, "image")
	if !slices.Equal(shape, []int64{3, int64(c.Height), int64(c.Width)}) {
		t.Fatalf("raw shape %v", shape)
	}
	checkClose(t, "binary t2i_cfg", canvas, g.ref(t, "mlphead.t2i_cfg.image"), imageTol)
	checkPNG(t, out, canvas, c.Width, c.Height)

	if runtime.GOOS == "windows" {
		return // no SIGINT to send
	}
	t.Run("interrupt", func(t *testing.T) {
		long := filepath.Join(tmp, "long.png")
		cmd := exec.Command(bin, "t2i", "--model_path", g.dir, "--prompt", "a fox", "--width", "256", "--height", "256", "--num_steps", "2000", "--output", long)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		var seen strings.Builder
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "step 3/2000") {
				cmd.Process.Signal(os.Interrupt)
				break
			}
		}
		var rest []byte
		done := make(chan error, 1)
		go func() {
			rest, _ = io.ReadAll(stderr)
			done <- cmd.Wait()
		}()
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("the interrupted run did not stop")
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != exitCancelled {
			t.Errorf("exit %v, want %d\n%s%s", err, exitCancelled, seen.String(), rest)
		}
		if !strings.Contains(string(rest), "sensenova t2i: cancelled") {
			t.Errorf("stderr after the interrupt:\n%s", rest)
		}
		if _, err := os.Stat(long); err == nil {
			t.Error("the interrupted run wrote its picture")
		}
		noTempFiles(t, tmp)
	})
}

// TestBinaryEditParity builds the real binary and runs the golden 3-way
// editing case with the parity flags (the reference's resized pixels and
// noise).
func TestBinaryEditParity(t *testing.T) {
	bin := buildBinary(t)
	g := openGolden(t, "pixelhead")
	for _, c := range g.cases.Cases {
		if c.Name != "edit_3way" {
			continue
		}
		tmp := t.TempDir()
		key := "pixelhead.edit_3way"
		noise := g.extract(t, filepath.Join(tmp, "noise.safetensors"), map[string]string{key + ".noise": "noise"})
		inputs := g.inputTensors(t, filepath.Join(tmp, "inputs.safetensors"), key, 1)
		out, raw := filepath.Join(tmp, "edited.png"), filepath.Join(tmp, "raw.safetensors")
		args := append(editArgs(g, c), "--output", out, "--init_noise", noise, "--input_tensors", inputs, "--output_raw", raw)
		code, stdout, stderr := runBinary(t, bin, args...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, fmt.Sprintf("[saved] %s\n", out)) {
			t.Errorf("stdout:\n%s", stdout)
		}
		canvas, _ := readRaw(t, raw, "image")
		checkClose(t, "binary edit_3way", canvas, g.ref(t, key+".image"), imageTol)
		checkPNG(t, out, canvas, c.Width, c.Height)
		return
	}
	t.Fatal("no edit_3way case")
}
