package cli

import (
	"context"
	"encoding/json"

	"github.com/sensenova/studio/inference/checkpoint"
)

func runInspect(_ context.Context, args []string, s Streams) error {
	fs := newFlags("inspect", "--model_path DIR [--json]", s)
	dir := fs.String("model_path", "", "the checkpoint folder (config.json, tokenizer files, model*.safetensors)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model_path"); err != nil {
		return err
	}
	// Headers only: validating and counting needs no tensor data.
	ck, err := checkpoint.OpenHeaders(*dir)
	if err != nil {
		return err
	}
	defer ck.Close()
	sum := ck.Summary()
	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return sum.WriteText(s.Out)
}
