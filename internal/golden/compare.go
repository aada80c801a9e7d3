package golden

import (
	"math"
	"testing"
)

// RelErr is the tolerance measure of ../shared/golden/README.md: the largest
// absolute difference divided by the largest absolute reference value. It
// returns +Inf when got has a NaN, and -1 when the lengths differ.
func RelErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return -1
	}
	var maxDiff, maxRef float64
	for i := range want {
		if math.IsNaN(float64(got[i])) {
			return math.Inf(1)
		}
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	if maxRef == 0 {
		return maxDiff
	}
	return maxDiff / maxRef
}

// CheckClose logs the relative error of got against the reference want and
// fails the test when it exceeds tol (or the lengths differ, or got has NaN).
func CheckClose(t testing.TB, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, reference has %d", what, len(got), len(want))
		return
	}
	e := RelErr(got, want)
	t.Logf("%s: relative error %.3g", what, e)
	if !(e <= tol) {
		t.Errorf("%s: relative error %.3g exceeds %.0e", what, e, tol)
	}
}
