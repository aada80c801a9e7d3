package pipeline

import "github.com/sensenova/studio/inference/tokenizer"

// textStream reports generated tokens as EventToken events whose texts,
// joined, equal the decoding of the ids (tokenizer.Stream holds back a
// character split between tokens).
type textStream struct {
	dec      *tokenizer.Stream
	progress Progress
}

func (e *Engine) newTextStream(skipSpecial bool, progress Progress) *textStream {
	return &textStream{dec: e.Tokenizer.NewStream(skipSpecial), progress: progress}
}

// push reports token id and the text it completes (possibly empty).
func (s *textStream) push(id int) {
	s.progress.emit(Event{Kind: EventToken, TokenID: id, Text: s.dec.Push(id)})
}

// flush sends text still held, if any, as a last EventToken with TokenID -1.
func (s *textStream) flush() {
	if text := s.dec.Flush(); text != "" {
		s.progress.emit(Event{Kind: EventToken, TokenID: -1, Text: text})
	}
}
