//go:build !windows

package app

import "os/exec"

// hideConsole is needed on Windows only (engine_windows.go).
func hideConsole(*exec.Cmd) {}
