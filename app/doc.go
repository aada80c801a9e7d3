// Package app holds everything the desktop app does that is not drawing:
// the settings kept between runs (and, as the studio grows, the engine
// supervisor and client, the job queue, the history and the preset choice).
// It never imports Fyne, so all of it is tested without a window, and it
// never links CUDA: the engine runs in its own process.
package app
