package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"id":"7","op":"t2i","prompt":"a fox","width":512,"cfg_scale":1}`))
	if err != nil || r.Op != OpTextImage || r.Prompt != "a fox" || r.Width != 512 || r.CFGScale == nil || *r.CFGScale != 1 || r.ImgCFGScale != nil {
		t.Errorf("decoded %+v, %v", r, err)
	}
	for _, c := range []struct{ line, want string }{
		{`{"op":"t2i"}`, `no "id"`},
		{`{"id":"1"}`, `no "op"`},
		{`{"id":"1","op":"paint"}`, `unknown op "paint"`},
		{`{"id":"1","op":"cancel"}`, `no "target"`},
		{`{"id":1,"op":"t2i"}`, `not a JSON request`},
		{`nonsense`, `not a JSON request`},
	} {
		if _, err := DecodeRequest([]byte(c.line)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.line, err, c.want)
		}
	}
}

// TestEventOmitsUnusedFields keeps the lines short: an event carries only the
// fields of its kind.
func TestEventOmitsUnusedFields(t *testing.T) {
	data, err := json.Marshal(Event{ID: "3", Event: EventProgress, Step: 2, Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), `{"id":"3","event":"progress","step":2,"steps":10}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
