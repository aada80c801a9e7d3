package demo

import (
	"context"
	"fmt"
	"testing"

	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/sampler"
)

// BenchmarkTextToImage times what the package comment quotes: a 20-step
// text-to-image with the default guidance on tensor.NewCPU(0), with and
// without thinking.
func BenchmarkTextToImage(b *testing.B) {
	for _, c := range []struct {
		size  int
		think bool
	}{{512, false}, {512, true}, {1024, false}} {
		name := fmt.Sprintf("%dx%d", c.size, c.size)
		if c.think {
			name += "-think"
		}
		b.Run(name, func(b *testing.B) {
			_, e := demoEngine(b)
			s := pipeline.ImageSettings{Width: c.size, Height: c.size, Steps: 20, Shift: 3, Seed: 1,
				Guidance: sampler.DefaultGuidance(sampler.TextToImage)}
			for b.Loop() {
				if _, err := e.TextToImage(context.Background(), pipeline.TextToImageRequest{Prompt: "a cat on a red chair", Think: c.think, ImageSettings: s}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnsure times making the folder from nothing.
func BenchmarkEnsure(b *testing.B) {
	for b.Loop() {
		if _, err := Ensure(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
