package record

import (
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/internal/golden"
	"github.com/sensenova/studio/internal/version"
)

func sample() Parameters {
	return Parameters{
		Task: "edit", Prompt: "把天空变成紫色 & add <a> \"rainbow\"\nsecond line",
		Think: true, Seed: 31, Steps: 3, CFGScale: 4, ImgCFGScale: 1.5, CFGNorm: "global",
		CFGInterval: [2]float64{0, 1}, TimestepShift: 3, TEps: 0.02, Width: 128, Height: 96,
		BatchIndex: 1, Inputs: []string{"a.png", "dir/b.webp"}, InputMaxPixels: 4194304,
		ImageOnlyBranch: true, UncondBranch: true, Model: "mlphead",
		ModelConfigSHA256: strings.Repeat("ab", 32), EngineVersion: "v1.2.3",
	}
}

// TestRoundTripThroughPNG writes a real PNG file with the record's chunks
// and reads the record back.
func TestRoundTripThroughPNG(t *testing.T) {
	p := sample()
	chunks, err := p.PNGText()
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 2 || chunks[0].Key != "parameters" || chunks[1].Key != "Software" || chunks[1].Value != "SenseNova Studio v1.2.3" {
		t.Fatalf("chunks %+v", chunks)
	}
	path := filepath.Join(t.TempDir(), "out.png")
	img := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	if err := imageproc.SavePNG(path, img, chunks); err != nil {
		t.Fatal(err)
	}
	got, err := FromPNG(path)
	if err != nil {
		t.Fatal(err)
	}
	want := p
	want.Schema = Schema
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// The picture itself still decodes.
	if _, err := imageproc.Load(path); err != nil {
		t.Error(err)
	}
}

func TestJSONFillsSchemaAndVersion(t *testing.T) {
	js, err := Parameters{Task: "t2i", Prompt: "a <b> & c"}.JSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, want := range []string{`"schema":"sensenova.parameters/1"`, `"engine_version":"` + version.Version + `"`, `"prompt":"a <b> & c"`, `"num_steps":0`, `"cfg_interval":[0,0]`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s: %s", want, s)
		}
	}
	if strings.Contains(s, "\n") {
		t.Errorf("JSON spans lines: %q", s)
	}
	p, err := ParseJSON(js)
	if err != nil || p.Prompt != "a <b> & c" || p.Task != "t2i" {
		t.Errorf("ParseJSON: %+v, %v", p, err)
	}
}

func TestBadRecords(t *testing.T) {
	if _, err := (Parameters{CFGScale: math.NaN()}).JSON(); err == nil {
		t.Error("NaN: no error")
	}
	if _, err := (Parameters{CFGScale: math.Inf(1)}).PNGText(); err == nil {
		t.Error("Inf: no error")
	}
	if _, err := ParseJSON([]byte(`{"schema":"other/9","task":"t2i"}`)); err == nil || !strings.Contains(err.Error(), "other/9") {
		t.Errorf("foreign schema: %v", err)
	}
	if _, err := ParseJSON([]byte(`{"task":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
	// A PNG without a record.
	path := filepath.Join(t.TempDir(), "plain.png")
	if err := imageproc.SavePNG(path, image.NewNRGBA(image.Rect(0, 0, 2, 2)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := FromPNG(path); !errors.Is(err, ErrNoRecord) || !strings.Contains(err.Error(), "plain.png") {
		t.Errorf("plain PNG: %v", err)
	}
	// Not a PNG at all, and no file.
	notPNG := filepath.Join(t.TempDir(), "x.png")
	os.WriteFile(notPNG, []byte("GIF89a"), 0o644)
	if _, err := FromPNG(notPNG); err == nil {
		t.Error("not a PNG: no error")
	}
	if _, err := FromPNG(filepath.Join(t.TempDir(), "missing.png")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestModelOf(t *testing.T) {
	dir, err := golden.Path("mlphead")
	if err != nil {
		t.Fatal(err)
	}
	name, sum, err := ModelOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	if name != "mlphead" || len(sum) != 64 {
		t.Errorf("ModelOf = %q, %q", name, sum)
	}
	if _, _, err := ModelOf(t.TempDir()); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("folder without config.json: %v", err)
	}
}
