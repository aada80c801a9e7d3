// Package profile owns the --profile report of the command line: the
// records a run collects (model-load time and peak memory, one record per
// timed generation call), the derived figures (images, image tokens,
// throughput, generation peak memory) and the summary text, printed exactly
// as the upstream Python profiler prints it (PIPELINES.md section 8).
//
// It does not time anything or read GPU counters itself: the caller measures
// each block (synchronising the device around it) and hands the numbers in.
// The one measurement offered here is MaxRSS, the process's lifetime peak
// resident set size, because it needs no device. The package never prints on
// its own; Write renders the summary to the writer it is given.
//
// Where the upstream crashes, this package prints a placeholder instead:
//
//   - With timed calls but zero images (an interleave run that produced no
//     picture, whose upstream report divides by zero) the per-image figures,
//     "avg per image" and the "image tokens" average, are printed as "n/a".
//   - A throughput over a total of zero seconds, or a per-call rate over a
//     call of zero seconds, is printed as "n/a" too.
//
// Each "n/a" is right-aligned in the number's field and its unit (s, tok/s,
// tok/image) is left out.
package profile
