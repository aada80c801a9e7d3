// Package cli is the engine's command line: `sensenova <command> [flags]`.
// It parses flags with the upstream reference scripts' names, calls the
// inference packages and prints their results; it holds no model logic.
// Run is the whole program, with its streams passed in, so every command is
// tested in-process.
//
// The task commands t2i, edit, interleave and vqa accept the flags of the
// upstream scripts (PIPELINES.md 3–7: same names, same defaults, same
// space-separated multi-value forms) and write the same files under the
// same names, printing to stdout what the scripts print there, so a run can
// be compared with the Python one line by line. Progress (steps, rate,
// time left, streamed text) goes to stderr. Additions of ours:
//
//   - parity flags: --init_noise (the reference's noise instead of the Go
//     generator's), --input_tensors (the reference's resized input pixels),
//     --output_raw (final canvases, float32), --json_out (text, token ids,
//     timings) and --t_eps;
//   - every picture carries its parameters record (package record) in a
//     PNG text chunk;
//   - every file is written atomically, so Ctrl-C (the context passed to Run)
//     stops the run within one denoising step or token, leaves no partial
//     file, and exits with status 130;
//   - flags the engine cannot honour yet (--lora_path, --gguf_checkpoint,
//     --enhance) are errors rather than silently ignored, and the
//     accelerator-only ones (--dtype, --vram_mode, --device_map, …) are
//     validated and explained in one note on the CPU backend.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sensenova/studio/internal/version"
)

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, s Streams) error
}

func commands() map[string]command {
	return map[string]command{
		"t2i":        {"text-to-image, optionally with reasoning (upstream examples/t2i/inference.py)", runT2I},
		"edit":       {"edit pictures with an instruction (upstream examples/editing/inference.py)", runEdit},
		"interleave": {"interleaved text-and-picture answers (upstream examples/interleave/inference.py)", runInterleave},
		"vqa":        {"answer a question about a picture (upstream examples/vqa/inference.py)", runVQA},
		"inspect":    {"summarise a checkpoint folder: config, shards, parameters per group", runInspect},
		"download":   {"fetch a checkpoint from Hugging Face (or a mirror), resumable and verified; --list shows the catalogue", runDownload},
		"tokenize":   {"encode JSON strings (one per line) to id arrays, or decode with --decode", runTokenize},
		"bench":      {"time text-to-image on a full-size model with random weights (no checkpoint needed)", runBench},
		"gpu":        {"list the CUDA devices and the memory preset chosen for them, as JSON", runGPU},
		"serve":      {"run as the desktop app's engine: JSON-lines requests on stdin, events on stdout", runServe},
		"version":    {"print the version", runVersion},
	}
}

// errUsage marks an error whose message already is the usage text.
var errUsage = errors.New("usage")

// Run executes the command line args (without the program name) and returns
// the process exit status: 0 success, 1 failure, 2 bad usage, 130 cancelled
// (ctx was cancelled, e.g. by Ctrl-C).
func Run(ctx context.Context, args []string, s Streams) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(s.Out)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(s.Err, "sensenova: unknown command %q\n\n", args[0])
		usage(s.Err)
		return 2
	}
	err := cmd.run(ctx, args[1:], s)
	var bad usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &bad):
		fmt.Fprintf(s.Err, "sensenova %s: %v\nRun 'sensenova %s --help' for the flags.\n", args[0], err, args[0])
		return 2
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Interrupted (Ctrl-C): nothing half-written was left behind.
		fmt.Fprintf(s.Err, "sensenova %s: cancelled\n", args[0])
		return exitCancelled
	}
	fmt.Fprintf(s.Err, "sensenova %s: %v\n", args[0], err)
	return 1
}

// exitCancelled is the status of an interrupted command (128 + SIGINT, as
// shells report it).
const exitCancelled = 130

func usage(w io.Writer) {
	fmt.Fprintf(w, "sensenova — the %s engine and command line (version %s)\n\nUsage: sensenova <command> [flags]\n\nCommands:\n", version.Name, version.Version)
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'sensenova <command> --help' for a command's flags.\n")
}

// newFlags makes a flag set that reports errors to s.Err and returns them
// instead of exiting.
func newFlags(name, synopsis string, s Streams) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: sensenova %s %s\n\nFlags:\n", name, synopsis)
		printFlags(fs)
	}
	return fs
}

// printFlags lists the flags with the double dash the upstream scripts use
// (Go's flag package accepts both). Flags with an empty usage are aliases
// documented by the flag they stand for, and are not listed.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" {
			return
		}
		typ, help := flag.UnquoteUsage(f)
		if typ != "" {
			typ = " " + typ
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(fs.Output(), "  --%s%s\n      %s%s\n", f.Name, typ, help, def)
	})
}

// parse parses args and rejects positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "sensenova %s: unexpected argument(s) %s\n", fs.Name(), strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}

// required reports a missing required flag the way flag parse errors are
// reported.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			fmt.Fprintf(fs.Output(), "sensenova %s: --%s is required\n", fs.Name(), n)
			fs.Usage()
			return errUsage
		}
	}
	return nil
}

func runVersion(_ context.Context, args []string, s Streams) error {
	fs := newFlags("version", "", s)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "sensenova %s\n", version.Version)
	return nil
}
