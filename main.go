// Command sensenova-studio is the desktop app: it starts the engine process
// (through app.Studio), builds the main window from the ui package and runs
// it. It never links CUDA; the engine runs in its own process (DESIGN.md).
package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/ui"
)

func main() {
	a := fyneapp.NewWithID(ui.AppID)
	var win atomic.Pointer[ui.Window]
	log := engineLog()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	studio, err := app.NewStudio(ctx, app.StudioOptions{
		Log: log,
		OnStatus: func(st app.StudioStatus) {
			if w := win.Load(); w != nil {
				w.ShowStatus(st)
			}
		},
	})
	cancel()
	w := ui.NewMainWindow(a, studio, err)
	win.Store(w)
	if studio != nil {
		w.ShowStatus(studio.Status())
	}
	w.ShowAndRun()
	if studio != nil {
		studio.Close()
	}
}

// engineLog is where the engine's log goes: engine.log in the user cache
// folder (the window shows what matters; the log is for bug reports).
func engineLog() io.Writer {
	dir, err := os.UserCacheDir()
	if err != nil {
		return io.Discard
	}
	dir = filepath.Join(dir, "sensenova-studio")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return io.Discard
	}
	f, err := os.Create(filepath.Join(dir, "engine.log"))
	if err != nil {
		return io.Discard
	}
	return f
}
