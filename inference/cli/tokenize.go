package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sensenova/studio/inference/tokenizer"
)

// maxLineBytes bounds one input line of `tokenize` (a 200 kB prompt is fine).
const maxLineBytes = 64 << 20

func runTokenize(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("tokenize", "--tokenizer PATH [--decode] < lines", s)
	path := fs.String("tokenizer", "", "a tokenizer.json, or a folder holding tokenizer files (e.g. the model folder)")
	decode := fs.Bool("decode", false, "read JSON arrays of ids and write JSON strings (special tokens kept)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "tokenizer"); err != nil {
		return err
	}
	tok, err := tokenizer.Load(*path)
	if err != nil {
		return err
	}
	in := bufio.NewScanner(s.In)
	in.Buffer(make([]byte, 64<<10), maxLineBytes)
	out := bufio.NewWriter(s.Out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false) // keep <|im_end|> readable
	for line := 1; in.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text := strings.TrimSpace(in.Text())
		if *decode {
			var ids []int
			if err := json.Unmarshal([]byte(text), &ids); err != nil {
				return fmt.Errorf("stdin line %d: want a JSON array of token ids, got %q", line, clip(text, 60))
			}
			for _, id := range ids {
				if id < 0 {
					return fmt.Errorf("stdin line %d: token id %d is negative", line, id)
				}
			}
			err = enc.Encode(tok.Decode(ids, false))
		} else {
			var str string
			if err := json.Unmarshal([]byte(text), &str); err != nil {
				return fmt.Errorf("stdin line %d: want a JSON string, got %q", line, clip(text, 60))
			}
			ids := tok.Encode(str)
			if ids == nil {
				ids = []int{}
			}
			err = enc.Encode(ids)
		}
		if err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("reading stdin: %w", err)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
