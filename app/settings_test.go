package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettingsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cfg", "settings.json")
	s, err := LoadSettings(p)
	if err != nil || s != (Settings{}) {
		t.Fatalf("first run: %+v, %v", s, err)
	}
	want := Settings{ModelDir: "/models/SenseNova-U1-8B-MoT", OutputDir: "/pictures", Theme: ThemeDark}
	if err := want.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(p)
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestSettingsErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "settings.json")
	os.WriteFile(bad, []byte(`{"theme": "dark",`), 0o644)
	if _, err := LoadSettings(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("invalid JSON: %v", err)
	}
	os.WriteFile(bad, []byte(`{"theme": "neon"}`), 0o644)
	if _, err := LoadSettings(bad); err == nil || !strings.Contains(err.Error(), "neon") {
		t.Errorf("unknown theme: %v", err)
	}
	if err := (Settings{Theme: "neon"}).Save(bad); err == nil {
		t.Error("saving an unknown theme must fail")
	}
	if got, _ := os.ReadFile(bad); string(got) != `{"theme": "neon"}` {
		t.Errorf("a failed save changed the file to %q", got)
	}
}
