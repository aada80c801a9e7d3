package prompt

import (
	"fmt"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tokenizer"
	"github.com/sensenova/studio/internal/golden"
)

// TestGoldenPromptIDsAndIndexes builds every recorded prompt from its case's
// parameters, tokenizes it with the checkpoint's own tokenizer and computes
// its positions; ids and (t, h, w) must equal the reference's exactly.
func TestGoldenPromptIDsAndIndexes(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		dir, err := golden.Path(folder)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := LookupSpecialIDs(tok.TokenID)
		if err != nil {
			t.Fatal(err)
		}
		refs, err := safetensors.Open(dir + "/references.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		defer refs.Close()
		cs, err := golden.LoadCases(folder)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, c := range cs.Cases {
			branches := map[string]string{}
			switch c.Kind {
			case "t2i", "t2i_think":
				branches["cond"] = TextToImage(c.Prompt, c.Kind == "t2i_think")
				if c.CFGScale > 1 {
					branches["uncond"] = Unconditional()
				}
			}
			for branch, query := range branches {
				key := fmt.Sprintf("%s.%s.%s", folder, c.Name, branch)
				if _, ok := refs.Info(key + ".input_ids"); !ok {
					continue
				}
				wantIDs, _, err := refs.Int64(key + ".input_ids")
				if err != nil {
					t.Fatal(err)
				}
				ids := tok.Encode(query)
				if !equalInt64(ids, wantIDs) {
					t.Errorf("%s: ids differ\n got %v\nwant %v", key, ids, wantIDs)
					continue
				}
				wantIdx, shape, err := refs.Int64(key + ".indexes")
				if err != nil {
					t.Fatal(err)
				}
				pos, err := Indexes(ids, sp, nil)
				if err != nil {
					t.Fatal(err)
				}
				n := int(shape[1])
				if shape[0] != 3 || n != len(ids) {
					t.Fatalf("%s.indexes has shape %v for %d ids", key, shape, len(ids))
				}
				for axis, got := range [][]int{pos.T, pos.H, pos.W} {
					if !equalInt64(got, wantIdx[axis*n:(axis+1)*n]) {
						t.Errorf("%s: axis %d of the indexes differs", key, axis)
					}
				}
				checked++
			}
		}
		// t2i_cfg, t2i_nocfg, t2i_global, t2i_channel, t2i_zerostar record
		// cond ids; the four with CFG record uncond ids too.
		if checked != 9 {
			t.Errorf("%s: checked %d prompts, want 9", folder, checked)
		}
	}
}

func equalInt64(a []int, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int64(a[i]) != b[i] {
			return false
		}
	}
	return true
}
