package hub

import (
	"fmt"
	"strings"
)

// Model is one checkpoint of the catalogue.
type Model struct {
	// Name is the short name users type, e.g. "SenseNova-U1-8B-MoT".
	Name string `json:"name"`
	// Repo is the Hugging Face repository id.
	Repo string `json:"repo"`
	// Layout is the architecture: "U1" (MLP head) or "U1.5" (pixel head).
	Layout string `json:"layout"`
	// Head is the generation head as checkpoint.Config.HeadType names it:
	// "mlp" or "pixel".
	Head string `json:"head"`
	// ApproxBytes is the download's approximate size; the listing gives the
	// exact one.
	ApproxBytes int64 `json:"approx_bytes"`
	// Summary says what the checkpoint is for.
	Summary string `json:"summary"`
	// Known is false for a repository that is not in the catalogue
	// (Resolve of an arbitrary org/name): its layout and size are unknown.
	Known bool `json:"known"`
}

// approx8B is the size of an 8B-MoT checkpoint in bf16: the understanding
// and generation towers, about 17.5 B parameters (MODEL.md 1.6), in eight
// safetensors shards of about 4.7 GB.
const approx8B = 35_000_000_000

// Catalogue lists the official checkpoints, the released default first.
// The repository ids are the ones the SenseNova-U1 model cards and the
// upstream README link to (sensenova/… on huggingface.co); any other
// repository, mirror or revision can still be named (Resolve, Config).
// Each call returns a new slice.
func Catalogue() []Model {
	return []Model{
		{
			Name: "SenseNova-U1-8B-MoT", Repo: "sensenova/SenseNova-U1-8B-MoT",
			Layout: "U1", Head: "mlp", ApproxBytes: approx8B, Known: true,
			Summary: "the released model: text-to-image with optional thinking, editing, interleaved answers, VQA",
		},
		{
			Name: "SenseNova-U1-8B-MoT-SFT", Repo: "sensenova/SenseNova-U1-8B-MoT-SFT",
			Layout: "U1", Head: "mlp", ApproxBytes: approx8B, Known: true,
			Summary: "the supervised fine-tuned stage before reinforcement learning (same layout)",
		},
		{
			Name: "SenseNova-U1-8B-MoT-Infographic", Repo: "sensenova/SenseNova-U1-8B-MoT-Infographic",
			Layout: "U1", Head: "mlp", ApproxBytes: approx8B, Known: true,
			Summary: "tuned for dense, text-rich infographics (same layout)",
		},
		{
			Name: "SenseNova-U1.5-8B-MoT", Repo: "sensenova/SenseNova-U1.5-8B-MoT",
			Layout: "U1.5", Head: "pixel", ApproxBytes: approx8B, Known: true,
			Summary: "the U1.5 layout: conv pixel head instead of the MLP head, noise cap 16",
		},
	}
}

// Resolve turns what a user typed into a model: a catalogue name or
// repository id (any letter case), or any other repository id "org/name",
// which comes back with Known false.
func Resolve(nameOrRepo string) (Model, error) {
	s := strings.TrimSpace(nameOrRepo)
	for _, m := range Catalogue() {
		if strings.EqualFold(s, m.Name) || strings.EqualFold(s, m.Repo) {
			return m, nil
		}
	}
	if strings.Contains(s, "/") {
		if err := ValidateRepo(s); err != nil {
			return Model{}, err
		}
		_, name, _ := strings.Cut(s, "/")
		return Model{Name: name, Repo: s}, nil
	}
	names := make([]string, 0, 4)
	for _, m := range Catalogue() {
		names = append(names, m.Name)
	}
	return Model{}, fmt.Errorf("hub: %q is neither a catalogue model (%s) nor a repository id org/name", nameOrRepo, strings.Join(names, ", "))
}
