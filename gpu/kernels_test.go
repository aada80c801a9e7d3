package gpu

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestKernelParametersAre8Bytes checks the embedded PTX: gorgonia.org/cu's
// Launch copies every kernel argument as 8 bytes, so a 4-byte (int, float)
// or a struct parameter would read garbage. Every parameter of every entry
// must be .u64, .s64, .b64 or .f64.
func TestKernelParametersAre8Bytes(t *testing.T) {
	entry := regexp.MustCompile(`(?s)\.visible \.entry (\w+)\((.*?)\)`)
	param := regexp.MustCompile(`\.param \.(\w+)(?: \.align \d+)? (\w+)(\[\d+\])?`)
	for _, file := range []string{"kernels/ops_sm80.ptx", "kernels/ops_sm90.ptx"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		entries := entry.FindAllStringSubmatch(string(src), -1)
		if len(entries) < len(kernelNameList) {
			t.Fatalf("%s: %d entries, want at least the %d kernels the backend loads", file, len(entries), len(kernelNameList))
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e[1]] = true
			for _, p := range param.FindAllStringSubmatch(e[2], -1) {
				if p[3] != "" || !strings.Contains("u64 s64 b64 f64", p[1]) {
					t.Errorf("%s: kernel %s parameter %s is .%s%s, not 8 bytes", file, e[1], p[2], p[1], p[3])
				}
			}
		}
		for _, name := range kernelNameList {
			if !seen[name] {
				t.Errorf("%s: kernel %s is loaded by the backend but not in the PTX (run make kernels)", file, name)
			}
		}
	}
}
