// Package protocol defines the messages the desktop app and the engine
// process (`sensenova serve`) exchange: one JSON object per line, requests
// on the engine's stdin, events on its stdout. It holds types and encoding
// only — no engine code — so the window can import it without linking the
// engine.
//
// # Session
//
// The engine starts, creates (or is given, with --session_dir) a private
// folder for the pictures it writes, and announces itself:
//
//	← {"event":"hello","version":"…","session_dir":"/tmp/…","cuda":false}
//
// # Requests
//
// Every request carries an id chosen by the client; every event about it
// carries the same id. Work requests (load, t2i, edit, interleave, vqa,
// unload) run one at a time, in the order received; a work request sent
// while another runs waits for it. cancel, gpu and shutdown are answered at
// once, even while work runs.
//
//	→ {"id":"1","op":"load","model_dir":"/models/SenseNova-U1-8B-MoT"}   (empty model_dir: the built-in demo model)
//	→ {"id":"2","op":"t2i","prompt":"a red fox","width":1024,"height":1024,"steps":30,"cfg_scale":4,"seed":7,"think":false}
//	→ {"id":"3","op":"edit","prompt":"make it winter","images":["/path/a.png"],"img_cfg_scale":1.5, …}
//	→ {"id":"4","op":"interleave","prompt":"…","width":…,"height":…}
//	→ {"id":"5","op":"vqa","question":"what is this?","images":["/path/a.png"],"max_new_tokens":256}
//	→ {"id":"6","op":"cancel","target":"2"}
//	→ {"id":"7","op":"gpu"}
//	→ {"id":"8","op":"unload"}
//	→ {"id":"9","op":"shutdown"}
//
// # Events
//
//	← {"id":"1","event":"loaded","model":{…}}                           model summary
//	← {"id":"2","event":"progress","picture":0,"step":3,"steps":30,"preview":"/tmp/…/2-p0-s3.png"}
//	← {"id":"2","event":"token","text":"…","token_id":123}              thinking, answer or storyboard text
//	← {"id":"4","event":"picture","picture":0,"path":"/tmp/…/4-0.png"}  a finished picture (storyboards, batches)
//	← {"id":"2","event":"done","result":{…}}                            the result, with profile figures
//	← {"id":"2","event":"error","code":"cancelled","message":"…"}
//
// Pictures (previews, results) are PNG files in the session folder, written
// atomically before the event that names them; results carry their
// parameters in a PNG text chunk. The client owns the files once told of
// them and may move or delete them.
package protocol

import (
	"encoding/json"
	"fmt"
)

// Operations of a Request.
const (
	OpLoad       = "load"
	OpUnload     = "unload"
	OpTextImage  = "t2i"
	OpEdit       = "edit"
	OpInterleave = "interleave"
	OpVQA        = "vqa"
	OpCancel     = "cancel"
	OpGPU        = "gpu"
	OpShutdown   = "shutdown"
)

// Event names.
const (
	EventHello    = "hello"
	EventLoaded   = "loaded"
	EventProgress = "progress"
	EventToken    = "token"
	EventPicture  = "picture"
	EventDone     = "done"
	EventError    = "error"
	EventGPU      = "gpu"
)

// Error codes of an error event.
const (
	CodeBadRequest  = "bad_request" // the request is malformed or its values invalid
	CodeNotLoaded   = "not_loaded"  // a task was asked before a model was loaded
	CodeLoadFailed  = "load_failed" // the model folder could not be loaded
	CodeCancelled   = "cancelled"   // the client cancelled the request
	CodeOutOfMemory = "out_of_memory"
	CodeInternal    = "internal" // a bug in the engine: the message says what
)

// Request is one line from the client. Fields not used by Op are omitted.
type Request struct {
	ID string `json:"id"`
	Op string `json:"op"`

	// load
	ModelDir string `json:"model_dir,omitempty"`
	Device   string `json:"device,omitempty"`
	// VRAMMode ("full", "balanced", "low") and MaxMemoryGiB override the
	// GPU memory preset; empty and 0 keep the preset. No effect on the CPU.
	VRAMMode     string  `json:"vram_mode,omitempty"`
	MaxMemoryGiB float64 `json:"max_memory_gib,omitempty"`

	// cancel
	Target string `json:"target,omitempty"`

	// tasks
	Prompt        string    `json:"prompt,omitempty"`
	Question      string    `json:"question,omitempty"`
	SystemMessage *string   `json:"system_message,omitempty"` // interleave; nil = the default
	Images        []string  `json:"images,omitempty"`         // input picture paths (edit, interleave, vqa)
	Width         int       `json:"width,omitempty"`
	Height        int       `json:"height,omitempty"`
	Steps         int       `json:"steps,omitempty"`
	CFGScale      *float64  `json:"cfg_scale,omitempty"`
	ImgCFGScale   *float64  `json:"img_cfg_scale,omitempty"`
	CFGNorm       string    `json:"cfg_norm,omitempty"`
	CFGInterval   []float64 `json:"cfg_interval,omitempty"` // [lo, hi]
	TimestepShift *float64  `json:"timestep_shift,omitempty"`
	Seed          int64     `json:"seed,omitempty"`
	Think         bool      `json:"think,omitempty"`
	Batch         int       `json:"batch,omitempty"`
	MaxNewTokens  int       `json:"max_new_tokens,omitempty"`
	// InputMaxPixels is the editing pre-resize budget per input picture
	// (the --input_max_pixels of the editing script); 0 = its "auto" (about
	// 2048² for one or two pictures), or 512² on the demo model.
	InputMaxPixels int `json:"input_max_pixels,omitempty"`
	// Sampling options of vqa.
	DoSample          bool     `json:"do_sample,omitempty"`
	Temperature       *float64 `json:"temperature,omitempty"`
	TopP              *float64 `json:"top_p,omitempty"`
	TopK              int      `json:"top_k,omitempty"`
	RepetitionPenalty *float64 `json:"repetition_penalty,omitempty"`
	// PreviewSize bounds the longer side of step previews in pixels; 0
	// means no previews.
	PreviewSize int `json:"preview_size,omitempty"`
}

// Event is one line from the engine.
type Event struct {
	ID    string `json:"id,omitempty"`
	Event string `json:"event"`

	// hello
	Version    string `json:"version,omitempty"`
	SessionDir string `json:"session_dir,omitempty"`
	CUDA       bool   `json:"cuda,omitempty"`

	// loaded
	Model *ModelInfo `json:"model,omitempty"`

	// progress, picture
	Picture int    `json:"picture,omitempty"`
	Step    int    `json:"step,omitempty"`
	Steps   int    `json:"steps,omitempty"`
	Preview string `json:"preview,omitempty"`
	Path    string `json:"path,omitempty"`

	// token
	Text    string `json:"text,omitempty"`
	TokenID int    `json:"token_id,omitempty"`

	// done
	Result *Result `json:"result,omitempty"`

	// gpu
	GPU json.RawMessage `json:"gpu,omitempty"`

	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// ModelInfo describes the loaded model.
type ModelInfo struct {
	Dir          string  `json:"dir"`
	Demo         bool    `json:"demo"`
	Layers       int     `json:"layers"`
	Hidden       int     `json:"hidden"`
	HeadType     string  `json:"head_type"`
	Params       int64   `json:"params"`
	Device       string  `json:"device"`
	LoadSeconds  float64 `json:"load_seconds"`
	ConfigSHA256 string  `json:"config_sha256"`
}

// Result is what a finished task returns.
type Result struct {
	// Pictures are the result PNGs (with their parameters embedded).
	Pictures  []string `json:"pictures,omitempty"`
	Width     int      `json:"width,omitempty"`
	Height    int      `json:"height,omitempty"`
	ThinkText string   `json:"think_text,omitempty"`
	Answer    string   `json:"answer,omitempty"`
	// Text is a storyboard's text with "<image>" where each picture goes.
	Text string `json:"text,omitempty"`
	// Seconds is the wall time of the generation call; Tokens the output
	// picture tokens (the profile's measure).
	Seconds      float64 `json:"seconds"`
	Tokens       int     `json:"tokens,omitempty"`
	PeakRSSBytes int64   `json:"peak_rss_bytes,omitempty"`
	// Parameters is the record each picture carries (JSON object).
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// GPUReport is what `sensenova gpu` prints and a gpu event carries (its
// GPU field): the CUDA devices the engine detects and the memory preset it
// chose for the best of them.
type GPUReport struct {
	CUDA             bool        `json:"cuda"`
	DriverAPIVersion int         `json:"driver_api_version"` // e.g. 13000 for 13.0
	Devices          []GPUDevice `json:"devices"`
	Error            string      `json:"error,omitempty"`
	// Preset is the card chosen to run on and its memory preset.
	Preset GPUPreset `json:"preset"`
}

// GPUDevice is one CUDA device.
type GPUDevice struct {
	Index           int    `json:"index"`
	Name            string `json:"name"`
	TotalBytes      int64  `json:"total_bytes"`
	FreeBytes       int64  `json:"free_bytes"`
	ComputeMajor    int    `json:"compute_major"`
	ComputeMinor    int    `json:"compute_minor"`
	Multiprocessors int    `json:"multiprocessors"`
	// GEMM names the matrix-product library of an opened device.
	GEMM string `json:"gemm,omitempty"`
}

// GPUPreset is a card, the host memory, and the memory preset chosen for
// them; `sensenova gpu --simulate` prints it alone.
type GPUPreset struct {
	// Index is the chosen device's index (detected cards only).
	Index *int   `json:"index,omitempty"`
	Name  string `json:"name"`
	// VRAMMiB is the card's total memory.
	VRAMMiB int64 `json:"vram_mib"`
	// HostRAMMiB is the host memory the choice assumed; 0: unknown.
	HostRAMMiB   int64   `json:"host_ram_mib"`
	MaxMemoryGiB float64 `json:"max_memory_gib"`
	VRAMMode     string  `json:"vram_mode"`
	// Runnable is false when this machine cannot run the full model.
	Runnable bool `json:"runnable"`
	// HostRAMNeededMiB is the host memory the preset needs.
	HostRAMNeededMiB int64  `json:"host_ram_needed_mib"`
	Reason           string `json:"reason"`
}

// DecodeRequest parses one request line and checks the fields every
// request needs.
func DecodeRequest(line []byte) (Request, error) {
	var r Request
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("not a JSON request: %w", err)
	}
	if r.ID == "" {
		return r, fmt.Errorf("request has no \"id\"")
	}
	switch r.Op {
	case OpLoad, OpUnload, OpTextImage, OpEdit, OpInterleave, OpVQA, OpGPU, OpShutdown:
	case OpCancel:
		if r.Target == "" {
			return r, fmt.Errorf("cancel request %q has no \"target\"", r.ID)
		}
	case "":
		return r, fmt.Errorf("request %q has no \"op\"", r.ID)
	default:
		return r, fmt.Errorf("request %q: unknown op %q (want load, unload, t2i, edit, interleave, vqa, cancel, gpu or shutdown)", r.ID, r.Op)
	}
	return r, nil
}
