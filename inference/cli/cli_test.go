package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/internal/golden"
)

// run executes a command line in-process and returns its exit status and
// streams.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func goldenPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := golden.Path(elem...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageAndUnknownCommand(t *testing.T) {
	if code, _, _ := run(t, ""); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	code, _, errOut := run(t, "", "paint")
	if code != 2 || !strings.Contains(errOut, `unknown command "paint"`) || !strings.Contains(errOut, "inspect") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := run(t, "", "--version"); code != 0 || !strings.HasPrefix(out, "sensenova ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	if code, _, errOut := run(t, "", "inspect", "--model_path", "x", "extra"); code != 2 || !strings.Contains(errOut, "extra") {
		t.Errorf("stray argument: exit %d, %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "inspect"); code != 2 || !strings.Contains(errOut, "--model_path is required") {
		t.Errorf("missing flag: exit %d, %q", code, errOut)
	}
}

// inspectJSON is the part of `inspect --json` the issue fixes.
type inspectJSON struct {
	ModelType     string         `json:"model_type"`
	Understanding int64          `json:"understanding_params"`
	Generation    int64          `json:"generation_params"`
	Shared        int64          `json:"shared_params"`
	Total         int64          `json:"total_params"`
	DTypes        map[string]any `json:"dtypes"`
	Shards        []struct {
		File    string `json:"file"`
		Tensors int    `json:"tensors"`
	} `json:"shards"`
}

func TestInspectReal8BMoTLayout(t *testing.T) {
	// A header-only checkpoint of the real shapes: sparse shards of ≈35 GB
	// that occupy almost no disk.
	cfg, err := checkpoint.ReferenceConfig("SenseNova-U1-8B-MoT")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "SenseNova-U1-8B-MoT")
	if err := checkpoint.WriteLayout(dir, cfg, checkpoint.LayoutOptions{Shards: 8, Sparse: true}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "inspect", "--model_path", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"8.121B", "8.186B", "1.245B", "8,121,323,008", "8,186,358,272", "1,244,659,712", "17,552,340,992", "model-00008-of-00008.safetensors"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = run(t, "", "inspect", "--model_path", dir, "--json")
	if code != 0 {
		t.Fatalf("--json exit %d: %s", code, errOut)
	}
	var got inspectJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output is not one JSON object: %v\n%s", err, out)
	}
	if got.ModelType != "neo_chat" || got.Understanding != 8121323008 || got.Generation != 8186358272 || got.Shared != 1244659712 || got.Total != 17552340992 {
		t.Errorf("counts %+v", got)
	}
	if len(got.Shards) != 8 || got.DTypes["BF16"] == nil {
		t.Errorf("shards %v dtypes %v", got.Shards, got.DTypes)
	}
}

func TestInspectGoldenAndBrokenFolders(t *testing.T) {
	code, out, errOut := run(t, "", "inspect", "--model_path", goldenPath(t, "mlphead"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got inspectJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Shards) != 3 || got.Total != got.Understanding+got.Generation+got.Shared {
		t.Errorf("mlphead: %+v", got)
	}
	// A tokenizer folder is not a checkpoint.
	code, _, errOut = run(t, "", "inspect", "--model_path", goldenPath(t, "tokenizer"))
	if code != 1 || !strings.Contains(errOut, "config.json") {
		t.Errorf("not a checkpoint: exit %d, %q", code, errOut)
	}
}

func TestTokenizeEncodeAndDecode(t *testing.T) {
	tokDir := goldenPath(t, "tokenizer")
	var probes []struct {
		Text    string `json:"text"`
		IDs     []int  `json:"ids"`
		Decoded string `json:"decoded"`
	}
	raw, err := os.ReadFile(filepath.Join(tokDir, "probes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &probes); err != nil {
		t.Fatal(err)
	}
	var in, wantOut, decIn, wantDec strings.Builder
	for _, p := range probes {
		b, _ := json.Marshal(p.Text)
		in.Write(b)
		in.WriteByte('\n')
		ids, _ := json.Marshal(p.IDs)
		if p.IDs == nil {
			ids = []byte("[]")
		}
		wantOut.Write(ids)
		wantOut.WriteByte('\n')
		decIn.Write(ids)
		decIn.WriteByte('\n')
		enc := json.NewEncoder(&wantDec)
		enc.SetEscapeHTML(false)
		enc.Encode(p.Decoded)
	}
	// The folder form and the tokenizer.json form of --tokenizer.
	for _, path := range []string{tokDir, filepath.Join(tokDir, "tokenizer.json")} {
		code, out, errOut := run(t, in.String(), "tokenize", "--tokenizer", path)
		if code != 0 || out != wantOut.String() {
			t.Errorf("encode with %s: exit %d, stderr %q\n got %s\nwant %s", path, code, errOut, out, wantOut.String())
		}
	}
	code, out, errOut := run(t, decIn.String(), "tokenize", "--tokenizer", tokDir, "--decode")
	if code != 0 || out != wantDec.String() {
		t.Errorf("decode: exit %d, stderr %q\n got %s\nwant %s", code, errOut, out, wantDec.String())
	}
	if !strings.Contains(out, `"<|im_start|>user\nhi<|im_end|>`) {
		t.Errorf("decode must keep special tokens readable: %s", out)
	}
}

func TestTokenizeReportsBadInput(t *testing.T) {
	tokDir := goldenPath(t, "tokenizer")
	code, out, errOut := run(t, "\"ok\"\nnot json\n", "tokenize", "--tokenizer", tokDir)
	if code != 1 || !strings.Contains(errOut, "stdin line 2") || !strings.Contains(errOut, "JSON string") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("the good first line should still be answered: %q", out)
	}
	code, _, errOut = run(t, "[1, -5]\n", "tokenize", "--tokenizer", tokDir, "--decode")
	if code != 1 || !strings.Contains(errOut, "-5") {
		t.Errorf("negative id: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "", "tokenize", "--tokenizer", filepath.Join(t.TempDir(), "none"))
	if code != 1 || !strings.Contains(errOut, "none") {
		t.Errorf("missing tokenizer: exit %d, stderr %q", code, errOut)
	}
	// A 200 kB prompt is one line like any other.
	long := strings.Repeat("snow fox ", 200000/9)
	b, _ := json.Marshal(long)
	code, out, errOut = run(t, string(b)+"\n", "tokenize", "--tokenizer", tokDir)
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("long line: exit %d, stderr %q", code, errOut)
	}
}
