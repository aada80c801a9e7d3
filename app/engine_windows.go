package app

import (
	"os/exec"
	"syscall"
)

// hideConsole keeps Windows from opening a console window for the engine:
// it is a console program (it is also the command line) started by the
// windowless app.
func hideConsole(cmd *exec.Cmd) {
	const createNoWindow = 0x08000000 // CREATE_NO_WINDOW
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: createNoWindow}
}
