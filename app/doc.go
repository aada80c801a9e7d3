// Package app holds everything the desktop app does that is not drawing:
// the settings kept between runs, the engine supervisor and client
// (engine.go), the studio that ties the engine, the loaded model and the
// results history together (studio.go, history.go), and the storyboard
// exporters (export.go). It never imports Fyne, so all of it is tested
// without a window, and it never links CUDA: the engine runs in its own
// process.
package app
