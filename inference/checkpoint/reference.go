package checkpoint

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

// The config.json of the published architectures, with the values of
// MODEL.md 1.2–1.4 (parameter-count proven where the spec says so; the rest
// from third-party copies). They let the engine build a full-size model
// without a download (benchmarks, header-only test checkpoints).
//
//go:embed configs/*.json
var referenceConfigs embed.FS

// ReferenceConfigNames lists the architectures ReferenceConfig knows.
func ReferenceConfigNames() []string {
	ents, _ := referenceConfigs.ReadDir("configs")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// ReferenceConfig returns the config.json of a published architecture:
// "SenseNova-U1-8B-MoT" (MLP head, noise cap 8) or "SenseNova-U1.5-8B-MoT"
// (pixel head, noise cap 16).
func ReferenceConfig(name string) ([]byte, error) {
	data, err := referenceConfigs.ReadFile("configs/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: no reference config %q (known: %s)", name, strings.Join(ReferenceConfigNames(), ", "))
	}
	return data, nil
}
