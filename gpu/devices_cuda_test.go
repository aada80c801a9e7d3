//go:build cuda

package gpu

import "testing"

// Runs on the GPU machine (go test -c -tags cuda, carried there).
func TestDetectFindsDevices(t *testing.T) {
	inv, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Devices) == 0 {
		t.Fatal("no CUDA device found")
	}
	for _, d := range inv.Devices {
		t.Logf("device %d: %s, sm_%d%d, %d SMs, %.2f / %.2f GiB free", d.Index, d.Name, d.ComputeMajor, d.ComputeMinor, d.Multiprocessors, float64(d.FreeBytes)/(1<<30), float64(d.TotalBytes)/(1<<30))
		if d.Name == "" || d.TotalBytes <= 0 || d.FreeBytes <= 0 || d.FreeBytes > d.TotalBytes || d.ComputeMajor < 3 {
			t.Errorf("implausible device %+v", d)
		}
	}
	if inv.DriverAPIVersion < 11000 {
		t.Errorf("driver API version %d, want ≥ 11000", inv.DriverAPIVersion)
	}
}
