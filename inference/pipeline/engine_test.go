package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/internal/golden"
)

type outOfMemory struct{}

func (outOfMemory) Error() string  { return "out of GPU memory (test)" }
func (outOfMemory) DeviceFailure() {}

// failingBackend is the CPU backend whose attention fails as a GPU's would.
type failingBackend struct{ tensor.Backend }

func (failingBackend) Attention(q, k, v tensor.Tensor, nKeys, numHeads, numKVHeads int, scale float32, keyLimit []int32) tensor.Tensor {
	panic(outOfMemory{})
}

// TestDeviceFailureIsAnError checks that a device failure inside an op
// comes back from every task as its error instead of a crash.
func TestDeviceFailureIsAnError(t *testing.T) {
	dir, err := golden.Path("mlphead")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(dir, failingBackend{tensor.NewCPU(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := ImageSettings{Width: 64, Height: 64, Steps: 2, Shift: 3, TEps: 0.02, Seed: 1}
	s.Guidance.Scale, s.Guidance.Norm, s.Guidance.IntervalHi = 1, "none", 1
	_, err1 := e.TextToImage(context.Background(), TextToImageRequest{Prompt: "a fox", ImageSettings: s}, nil)
	_, err2 := e.VQA(context.Background(), VQARequest{Question: "what?", MaxNewTokens: 2}, nil)
	for i, err := range []error{err1, err2} {
		if !errors.As(err, new(outOfMemory)) {
			t.Errorf("task %d: error %v, want the device failure", i, err)
		}
	}
}

// TestTextToImageTokensEqualsTextToImage checks the pre-tokenized entry
// point against the ordinary one: the same prompt's ids give the same
// picture, bit for bit; ids without the final <img> are refused.
func TestTextToImageTokensEqualsTextToImage(t *testing.T) {
	g := openGolden(t, "mlphead")
	c := g.cases.Cases[0] // t2i_cfg
	s := settingsOf(c, g.ref(t, "mlphead."+c.Name+".noise"))
	want, err := g.e.TextToImage(context.Background(), TextToImageRequest{Prompt: c.Prompt, ImageSettings: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cond := g.e.Tokenizer.Encode(prompt.TextToImage(c.Prompt, false))
	uncond := g.e.Tokenizer.Encode(prompt.Unconditional())
	got, err := g.e.TextToImageTokens(context.Background(), cond, uncond, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Canvases[0], want.Canvases[0]) {
		t.Errorf("the pre-tokenized prompt gave another picture (relative difference %g)", golden.RelErr(got.Canvases[0], want.Canvases[0]))
	}
	if _, err := g.e.TextToImageTokens(context.Background(), cond[:len(cond)-1], uncond, s, nil); err == nil || !strings.Contains(err.Error(), "<img>") {
		t.Errorf("ids without <img>: error %v", err)
	}
}
