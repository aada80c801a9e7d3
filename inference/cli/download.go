package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/sensenova/studio/inference/hub"
)

const downloadSynopsis = `--model NAME_OR_REPO [--output_dir DIR] [--endpoint URL] [--revision main] [--jobs N] [--json]
       sensenova download --list [--json]

Fetches a checkpoint from Hugging Face, or from the mirror named by
--endpoint or HF_ENDPOINT, and prints the model folder's path on stdout
(progress goes to stderr). HF_TOKEN is sent for gated or private
repositories. An interrupted download resumes where it stopped when run
again with the same --output_dir; every file is checked against the hub's
SHA-256 before it is put in place. When the Hugging Face cache (HF_HUB_CACHE,
HF_HOME, ~/.cache/huggingface/hub) already holds the complete snapshot, its
folder is printed and nothing is downloaded. With HF_HUB_OFFLINE=1 only
complete copies on disk are used.`

func runDownload(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("download", downloadSynopsis, s)
	model := fs.String("model", "", "a catalogue name (see --list) or any Hugging Face repository id org/name")
	outDir := fs.String("output_dir", "", "the model folder to download into (default: <user cache folder>/sensenova-studio/models/<org>/<name>)")
	endpoint := fs.String("endpoint", "", "hub base URL, e.g. a mirror (default $HF_ENDPOINT, else "+hub.DefaultEndpoint+")")
	revision := fs.String("revision", hub.DefaultRevision, "branch, tag or commit to download")
	jobs := fs.Int("jobs", 4, "files fetched at once, 1–16 (each large file also uses 4 range requests at once)")
	list := fs.Bool("list", false, "print the catalogue of official checkpoints and exit")
	asJSON := fs.Bool("json", false, "with --list, print the catalogue as JSON; with a download, print progress as JSON lines on stderr and the result as one JSON object on stdout")
	noCache := fs.Bool("no_hf_cache", false, "download even when the Hugging Face cache holds a complete copy")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list {
		if *model != "" {
			return badUsage("--list takes no --model")
		}
		return printCatalogue(s.Out, *asJSON)
	}
	if err := required(fs, "model"); err != nil {
		return err
	}
	if *jobs < 1 || *jobs > 16 {
		return badUsage("--jobs %d is not between 1 and 16", *jobs)
	}
	m, err := hub.Resolve(*model)
	if err != nil {
		return badUsage("--model: %v", err)
	}
	cfg := hub.ConfigFromEnv(os.Getenv)
	if *endpoint != "" {
		cfg.Endpoint = *endpoint
	}
	if *noCache {
		cfg.CacheDir = ""
	}
	client, err := hub.NewClient(cfg, nil)
	if err != nil {
		return badUsage("--endpoint: %v", err)
	}
	dest := *outDir
	if dest == "" {
		if dest, err = hub.DefaultDir(m.Repo); err != nil {
			return err
		}
	}

	pr := &downloadProgress{w: s.Err, json: *asJSON, endpoint: client.Config().Endpoint, revision: *revision}
	pr.tty = isTerminal(s.Err)
	d := &hub.Downloader{Client: client, Jobs: *jobs, Progress: pr.handle}
	res, err := d.Download(ctx, m.Repo, *revision, dest)
	pr.end()
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(s.Out).Encode(res)
	}
	switch {
	case res.Source == hub.SourceHFCache:
		fmt.Fprintf(s.Err, "%s@%s is complete in the Hugging Face cache; nothing downloaded\n", res.Repo, res.Revision)
	case res.Source == hub.SourceLocal:
		fmt.Fprintf(s.Err, "%s@%s is already complete in %s\n", res.Repo, res.Revision, res.Path)
	default:
		fmt.Fprintf(s.Err, "done: %d files, %s (%s fetched now)\n", res.Files, hub.FormatBytes(res.Bytes), hub.FormatBytes(res.Fetched))
	}
	if res.Offline {
		fmt.Fprintf(s.Err, "note: the endpoint was not asked (offline or unreachable); this is the copy on disk\n")
	}
	_, err = fmt.Fprintln(s.Out, res.Path)
	return err
}

// printCatalogue writes the catalogue as a table or as JSON.
func printCatalogue(w io.Writer, asJSON bool) error {
	cat := hub.Catalogue()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(cat)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREPOSITORY\tLAYOUT\tSIZE\tWHAT")
	for _, m := range cat {
		fmt.Fprintf(tw, "%s\t%s\t%s (%s head)\t~%s\t%s\n", m.Name, m.Repo, m.Layout, m.Head, hub.FormatBytes(m.ApproxBytes), m.Summary)
	}
	return tw.Flush()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// downloadProgress shows a download's progress on stderr: on a terminal
// one line redrawn in place, otherwise a line per 5 % and per file; with
// --json every report as a JSON line.
type downloadProgress struct {
	w                  io.Writer
	tty, json          bool
	endpoint, revision string

	announced bool
	lastStep  int64 // the last 5 % step printed (non-terminal)
	open      bool  // a redrawn line is on screen
}

func (p *downloadProgress) handle(ev hub.Progress) {
	if p.json {
		json.NewEncoder(p.w).Encode(ev)
		return
	}
	switch ev.Phase {
	case hub.PhaseListing:
		p.line(fmt.Sprintf("listing %s@%s at %s", ev.Repo, p.revision, p.endpoint))
	case hub.PhaseChecking:
		p.line("checking " + ev.File + ", already in the folder")
	case hub.PhaseVerifying:
		if !p.tty {
			p.line("verifying " + ev.File)
		}
	case hub.PhaseDownloading:
		if !p.announced {
			p.announced = true
			msg := fmt.Sprintf("downloading %s (commit %.10s): %d files, %s", ev.Repo, ev.Commit, ev.FilesTotal, hub.FormatBytes(ev.BytesTotal))
			if ev.BytesDone > 0 {
				msg += fmt.Sprintf(", %s already here", hub.FormatBytes(ev.BytesDone))
			}
			p.line(msg)
			p.lastStep = p.step(ev)
		}
		if ev.File != "" {
			p.line(fmt.Sprintf("  %s (%d/%d files)", ev.File, ev.FilesDone, ev.FilesTotal))
		}
		status := fmt.Sprintf("%5.1f%%  %s / %s", 100*ev.Fraction(), hub.FormatBytes(ev.BytesDone), hub.FormatBytes(ev.BytesTotal))
		if ev.BytesPerSecond > 0 {
			status += fmt.Sprintf("  %s/s", hub.FormatBytes(int64(ev.BytesPerSecond)))
		}
		if ev.ETA > 0 {
			status += "  ETA " + formatSeconds(ev.ETA.Seconds())
		}
		if p.tty {
			fmt.Fprintf(p.w, "\r%s\x1b[K", status)
			p.open = true
		} else if st := p.step(ev); st > p.lastStep {
			p.lastStep = st
			p.line(status)
		}
	}
}

// step is the 5 % step a report has reached.
func (p *downloadProgress) step(ev hub.Progress) int64 {
	if ev.BytesTotal <= 0 {
		return 0
	}
	return ev.BytesDone * 20 / ev.BytesTotal
}

// line prints a whole line, ending a redrawn one first.
func (p *downloadProgress) line(s string) {
	if p.open {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.open = false
	}
	fmt.Fprintln(p.w, s)
}

// end finishes a redrawn line.
func (p *downloadProgress) end() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
