// Package enginetest builds the real engine binary (sensenova) once per
// test process, for tests of the desktop app that drive the real engine
// over its protocol.
package enginetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// Build returns the path of a freshly built sensenova binary (built once per
// process, into a temporary folder).
var Build = sync.OnceValues(func() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "sensenova-engine-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sensenova")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./inference/cmd/sensenova")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the engine: %v\n%s", err, out)
	}
	return bin, nil
})

// moduleRoot is the folder holding go.mod above the working directory.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("enginetest: no go.mod above %s", wd)
		}
	}
}
