package prompt

import (
	"fmt"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tokenizer"
	"github.com/sensenova/studio/internal/golden"
)

// goldenFolder is one golden checkpoint folder's tokenizer, special ids,
// reference tensors and cases.
type goldenFolder struct {
	tok   *tokenizer.Tokenizer
	sp    SpecialIDs
	refs  *safetensors.File
	cases *golden.Cases
}

func openGolden(t *testing.T, folder string) goldenFolder {
	t.Helper()
	dir, err := golden.Path(folder)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFolder
	if g.tok, err = tokenizer.Load(dir); err != nil {
		t.Fatal(err)
	}
	if g.sp, err = LookupSpecialIDs(g.tok.TokenID); err != nil {
		t.Fatal(err)
	}
	if g.refs, err = safetensors.Open(dir + "/references.safetensors"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.refs.Close() })
	if g.cases, err = golden.LoadCases(folder); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGoldenPromptIDsAndIndexes builds every recorded prompt from its case's
// parameters, tokenizes it with the checkpoint's own tokenizer and computes
// its positions; ids and (t, h, w) must equal the reference's exactly.
func TestGoldenPromptIDsAndIndexes(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		tok, sp, refs, cs := g.tok, g.sp, g.refs, g.cases
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

// TestGoldenEditContextLayout assembles each golden editing prompt with its
// picture's recorded grid: the expanded prompt must hold exactly as many
// <IMG_CONTEXT> tokens as the reference's context features have rows, all
// sharing one t, with the grid's row-major (h, w).
func TestGoldenEditContextLayout(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		tok, sp, refs, cs := g.tok, g.sp, g.refs, g.cases
		edits := 0
		for _, c := range cs.Cases {
			if c.Kind != "edit" {
				continue
			}
			edits++
			key := folder + "." + c.Name
			grid16, _, err := refs.Int64(key + ".input1_grid_hw")
			if err != nil {
				t.Fatal(err)
			}
			featInfo, ok := refs.Info(key + ".input_features")
			if !ok {
				t.Fatalf("%s: no input_features", key)
			}
			grid := TokenGrid{Rows: int(grid16[0]) / 2, Cols: int(grid16[1]) / 2}
			q, err := Edit(c.Prompt, len(c.InputPNGs), false)
			if err != nil {
				t.Fatal(err)
			}
			q, err = ExpandImages(q, []int{grid.Tokens()})
			if err != nil {
				t.Fatal(err)
			}
			ids := tok.Encode(q)
			pos, err := Indexes(ids, sp, []TokenGrid{grid})
			if err != nil {
				t.Fatal(err)
			}
			var ctx []int
			for i, id := range ids {
				if id == sp.ImgContext {
					ctx = append(ctx, i)
				}
			}
			if int64(len(ctx)) != featInfo.Shape[0] {
				t.Errorf("%s: %d context tokens, reference features have %d rows", key, len(ctx), featInfo.Shape[0])
				continue
			}
			for k, i := range ctx {
				if pos.T[i] != pos.T[ctx[0]] || pos.H[i] != k/grid.Cols || pos.W[i] != k%grid.Cols {
					t.Fatalf("%s: context token %d at (%d,%d,%d)", key, k, pos.T[i], pos.H[i], pos.W[i])
				}
			}
			if ids[ctx[0]-1] != sp.ImgStart || ids[ctx[len(ctx)-1]+1] != sp.ImgEnd || ids[len(ids)-1] != sp.ImgStart {
				t.Errorf("%s: picture not framed by <img>…</img>, or the prompt does not end with <img>", key)
			}
		}
		if edits != 2 {
			t.Errorf("%s: %d editing cases, want 2", folder, edits)
		}
	}
}
