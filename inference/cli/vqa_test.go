package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestVQAGoldenThroughCommandLine answers the golden VQA question of both
// checkpoints from the PNG (composited on white, resized by the engine) and
// from the reference's resized pixels: answer ids and text exactly.
func TestVQAGoldenThroughCommandLine(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		for _, c := range g.cases.Cases {
			if c.Kind != "vqa" {
				continue
			}
			for _, fromTensors := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/tensors=%v", folder, fromTensors), func(t *testing.T) {
					tmp := t.TempDir()
					js := filepath.Join(tmp, "answer.json")
					args := []string{"vqa", "--model_path", g.dir, "--image", filepath.Join(g.dir, c.InputPNG),
						"--question", c.Question, "--max_new_tokens", fmt.Sprint(c.MaxNewTokens), "--json_out", js}
					if fromTensors {
						args = append(args, "--input_tensors", g.inputTensors(t, filepath.Join(tmp, "in.safetensors"), folder+"."+c.Name, 1))
					}
					r := mustRun(t, args...)
					rep := readJSONOut(t, js)
					if rep.AnswerIDs == nil || !slices.Equal(*rep.AnswerIDs, c.AnswerIDs) {
						t.Errorf("answer ids %v\nwant %v", rep.AnswerIDs, c.AnswerIDs)
					}
					if rep.Answer == nil || *rep.Answer != c.Answer {
						t.Errorf("answer %v, want %q", rep.Answer, c.Answer)
					}
					// The answer is printed to stdout after the [attn] line.
					if !strings.HasSuffix(r.out, "\n"+c.Answer+"\n") {
						t.Errorf("stdout:\n%q", r.out)
					}
				})
			}
		}
	}
}

// TestVQAOutputFileJSONLAndSampling: --output writes the answer file;
// --jsonl writes answers.jsonl (Python json.dumps layout) and prints
// "[<id or ?>] <first 80 characters>..."; sampling with a seed repeats.
func TestVQAOutputFileJSONLAndSampling(t *testing.T) {
	g := openGolden(t, "mlphead")
	pic := filepath.Join(g.dir, "mlphead_vqa_input.png")
	tmp := t.TempDir()
	ans := filepath.Join(tmp, "a", "answer.txt")
	r := mustRun(t, "vqa", "--model_path", g.dir, "--image", pic, "--question", "What?", "--max_new_tokens", "90", "--output", ans)
	if !strings.Contains(r.out, "[saved] "+ans+"\n") {
		t.Errorf("stdout:\n%s", r.out)
	}
	long, err := os.ReadFile(ans)
	if err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(tmp, "q.jsonl")
	os.WriteFile(jsonl, []byte(fmt.Sprintf("{\"image\": %q, \"question\": \"What?\", \"id\": 7}\n{\"image\": %q, \"question\": \"Colours \\\"here\\\"?\"}\n", pic, pic)), 0o644)
	outDir := filepath.Join(tmp, "o")
	r = mustRun(t, "vqa", "--model_path", g.dir, "--jsonl", jsonl, "--output_dir", outDir, "--max_new_tokens", "90")
	head := []rune(string(long))
	want := "[7] " + string(head[:min(80, len(head))])
	if len(head) > 80 {
		want += "..."
	}
	if !strings.Contains(r.out, want+"\n") || !strings.Contains(r.out, "\n[?] ") || !strings.Contains(r.out, "[saved] "+filepath.Join(outDir, "answers.jsonl")) {
		t.Errorf("stdout:\n%s\nwant line %q", r.out, want)
	}
	data, err := os.ReadFile(filepath.Join(outDir, "answers.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], fmt.Sprintf(`{"id": 7, "image": %q, "question": "What?", "answer": `, pic)) ||
		!strings.HasPrefix(lines[1], `{"id": "", "image": `) || !strings.Contains(lines[1], `"question": "Colours \"here\"?"`) {
		t.Errorf("answers.jsonl:\n%s", data)
	}
	// Sampling: the same seed gives the same answer.
	sample := func(seed string) string {
		js := filepath.Join(tmp, "s"+seed+".json")
		mustRun(t, "vqa", "--model_path", g.dir, "--image", pic, "--question", "What?", "--max_new_tokens", "12",
			"--do_sample", "--temperature", "1.5", "--top_k", "0", "--seed", seed, "--json_out", js)
		return fmt.Sprint(*readJSONOut(t, js).AnswerIDs)
	}
	if a, b := sample("1"), sample("1"); a != b {
		t.Errorf("same seed, different answers: %s vs %s", a, b)
	}
}
