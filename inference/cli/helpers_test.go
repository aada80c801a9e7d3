package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/golden"
)

// imageTol is the golden README's bound for a final canvas (max abs
// difference ÷ max abs of the reference).
const imageTol = 1e-3

// result is one in-process run of the command line.
type result struct {
	code        int
	out, errOut string
}

// runCtx runs a command line in-process with a context.
func runCtx(ctx context.Context, args ...string) result {
	var out, errb bytes.Buffer
	code := Run(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

// mustRun runs a command line that must succeed.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCtx(context.Background(), args...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.errOut)
	}
	return r
}

// goldenFolder is one golden checkpoint with its references and cases.
type goldenFolder struct {
	name  string
	dir   string
	refs  *safetensors.File
	cases *golden.Cases
}

func openGolden(t *testing.T, name string) goldenFolder {
	t.Helper()
	dir := goldenPath(t, name)
	refs, err := safetensors.Open(filepath.Join(dir, "references.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { refs.Close() })
	cases, err := golden.LoadCases(name)
	if err != nil {
		t.Fatal(err)
	}
	return goldenFolder{name: name, dir: dir, refs: refs, cases: cases}
}

func (g goldenFolder) ref(t *testing.T, name string) []float32 {
	t.Helper()
	v, _, err := g.refs.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// extract copies reference tensors into a new safetensors file under the
// unprefixed names the command-line flags expect: rename maps the
// reference name to the file's name.
func (g goldenFolder) extract(t *testing.T, path string, rename map[string]string) string {
	t.Helper()
	var ts []safetensors.Tensor
	for from, to := range rename {
		info, ok := g.refs.Info(from)
		if !ok {
			t.Fatalf("reference %s has no %s", g.name, from)
		}
		data, err := g.refs.Bytes(from)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.Tensor{Name: to, DType: info.DType, Shape: info.Shape, Data: bytes.Clone(data)})
	}
	if err := safetensors.Write(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// inputTensors writes the case's resized input pictures as an
// --input_tensors file.
func (g goldenFolder) inputTensors(t *testing.T, path, key string, n int) string {
	t.Helper()
	m := map[string]string{}
	for k := 1; k <= n; k++ {
		m[fmt.Sprintf("%s.input%d_pixels_u8", key, k)] = fmt.Sprintf("input%d_pixels_u8", k)
		m[fmt.Sprintf("%s.input%d_grid_hw", key, k)] = fmt.Sprintf("input%d_grid_hw", k)
	}
	return g.extract(t, path, m)
}

// readRaw reads a tensor of an --output_raw file.
func readRaw(t *testing.T, path, name string) ([]float32, []int64) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, shape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

// checkClose compares a canvas with its reference (max abs difference ÷
// max abs of the reference).
func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, reference has %d", what, len(got), len(want))
	}
	var maxDiff, maxRef float64
	for i := range want {
		if math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: NaN at %d", what, i)
		}
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	if rel := maxDiff / maxRef; rel > tol {
		t.Errorf("%s: relative error %.3g exceeds %.0e", what, rel, tol)
	}
}

// checkPNG checks that a saved picture is the 8-bit conversion of its raw
// canvas and returns the picture's parameters record.
func checkPNG(t *testing.T, path string, canvas []float32, w, h int) record.Parameters {
	t.Helper()
	pic, err := imageproc.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := imageproc.CanvasToImage(canvas, h, w)
	if err != nil {
		t.Fatal(err)
	}
	got := pic.RGB(imageproc.DropAlpha)
	if !got.Rect.Eq(want.Rect) || !bytes.Equal(got.Pix, want.Pix) {
		t.Errorf("%s is not the 8-bit conversion of the raw canvas (%v vs %v)", path, got.Rect, want.Rect)
	}
	p, err := record.FromPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// readJSONOut reads a --json_out file.
func readJSONOut(t *testing.T, path string) jsonReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r jsonReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return r
}

// fmtF formats a float flag value exactly.
func fmtF(v float64) string { return fmt.Sprint(v) }

// noTempFiles fails if an atomic write left a temporary file in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

// checkPNGRecord reads the parameters record of a saved picture.
func checkPNGRecord(t *testing.T, path string) record.Parameters {
	t.Helper()
	p, err := record.FromPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkPNGSize returns a picture file's width and height.
func checkPNGSize(t *testing.T, path string) [2]int {
	t.Helper()
	p, err := imageproc.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b := p.Image.Bounds()
	return [2]int{b.Dx(), b.Dy()}
}
