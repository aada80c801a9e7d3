package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/sensenova/studio/internal/atomicfile"
)

// Themes the window offers.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// Settings are the user's choices kept between runs.
type Settings struct {
	// ModelDir is the SenseNova-U1 checkpoint folder; empty means the
	// built-in demo model.
	ModelDir string `json:"model_dir,omitempty"`
	// OutputDir is where results and their records are saved.
	OutputDir string `json:"output_dir,omitempty"`
	// Theme is ThemeSystem, ThemeLight or ThemeDark.
	Theme string `json:"theme,omitempty"`
	// VRAMMode overrides the GPU preset's --vram_mode: "" (the preset),
	// "full", "balanced" or "low".
	VRAMMode string `json:"vram_mode,omitempty"`
	// MaxMemoryGiB is the override's GPU weight budget (balanced, low);
	// 0 means none.
	MaxMemoryGiB float64 `json:"max_memory_gib,omitempty"`
	// HubEndpoint is the Hugging Face compatible endpoint models are
	// downloaded from (a mirror, say); empty means $HF_ENDPOINT, else
	// huggingface.co.
	HubEndpoint string `json:"hub_endpoint,omitempty"`
	// FirstRunDone is set once the first-run welcome (GPU, model download
	// or folder) has been finished or skipped.
	FirstRunDone bool `json:"first_run_done,omitempty"`
}

// DefaultSettingsPath is settings.json in the user's configuration folder.
func DefaultSettingsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("settings: no user configuration folder: %w", err)
	}
	return filepath.Join(dir, "sensenova-studio", "settings.json"), nil
}

// Validate checks the values a user can get wrong by editing the file.
func (s Settings) Validate() error {
	switch s.Theme {
	case "", ThemeSystem, ThemeLight, ThemeDark:
	default:
		return fmt.Errorf("settings: theme %q is not one of %q, %q, %q", s.Theme, ThemeSystem, ThemeLight, ThemeDark)
	}
	switch s.VRAMMode {
	case "", "full", "balanced", "low":
	default:
		return fmt.Errorf("settings: vram_mode %q is not one of full, balanced, low", s.VRAMMode)
	}
	if s.HubEndpoint != "" {
		if u, err := url.Parse(s.HubEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("settings: hub_endpoint %q is not an http(s) URL like https://huggingface.co", s.HubEndpoint)
		}
	}
	if !(s.MaxMemoryGiB >= 0 && s.MaxMemoryGiB <= 1024) {
		return fmt.Errorf("settings: max_memory_gib %g is not between 0 and 1024", s.MaxMemoryGiB)
	}
	return nil
}

// LoadSettings reads path. A missing file gives the zero Settings (first
// run); an unreadable or invalid file is an error naming it, so a broken
// file is never silently overwritten with defaults.
func LoadSettings(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("settings %s: %w", path, err)
	}
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		return Settings{}, fmt.Errorf("settings %s: not valid settings JSON: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Save writes the settings to path atomically.
func (s Settings) Save(path string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}
