//go:build cuda

package gpu

import (
	"runtime"
	"sort"

	"gorgonia.org/cu"
)

// opTimer measures the device time of every op with a pair of CUDA events
// recorded on the stream around it (the per-op breakdown of the
// benchmark). Events come from a pool; pending pairs are read back in
// batches, so timing does not synchronise the host after every op.
type opTimer struct {
	pool    []cu.Event
	pending []timedOp
	totals  map[string]*OpTime
}

type timedOp struct {
	name       string
	start, end cu.Event
}

func (t *opTimer) event() cu.Event {
	if n := len(t.pool); n > 0 {
		e := t.pool[n-1]
		t.pool = t.pool[:n-1]
		return e
	}
	e, err := cu.MakeEvent(cu.DefaultEvent)
	if err != nil {
		fail("cuEventCreate", err)
	}
	return e
}

// flush waits for the pending ops and adds their times to the totals.
func (t *opTimer) flush() {
	if len(t.pending) == 0 {
		return
	}
	if err := t.pending[len(t.pending)-1].end.Synchronize(); err != nil {
		fail("cuEventSynchronize", err)
	}
	for _, p := range t.pending {
		ms, err := p.start.Elapsed(p.end)
		if err != nil {
			fail("cuEventElapsedTime", err)
		}
		o := t.totals[p.name]
		if o == nil {
			o = &OpTime{Op: p.name}
			t.totals[p.name] = o
		}
		o.Calls++
		o.Seconds += ms / 1000
		t.pool = append(t.pool, p.start, p.end)
	}
	t.pending = t.pending[:0]
}

// op enters an op: the calling goroutine is bound to an OS thread with the
// context current and, while ops are timed, a start event is recorded.
// The returned function ends the op.
func (b *CUDA) op(name string) func() {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(b.ctx); err != nil {
		runtime.UnlockOSThread()
		fail("cuCtxSetCurrent", err)
	}
	b.depth++
	t := b.timer
	if t == nil || name == "" {
		return b.endOp
	}
	start := t.event()
	if err := start.Record(b.stream); err != nil {
		fail("cuEventRecord", err)
	}
	return func() {
		end := t.event()
		if err := end.Record(b.stream); err != nil {
			fail("cuEventRecord", err)
		}
		t.pending = append(t.pending, timedOp{name: name, start: start, end: end})
		if len(t.pending) >= 4096 {
			t.flush()
		}
		b.endOp()
	}
}

// endOp leaves an op; leaving the outermost one releases the device copies
// of host weights it made.
func (b *CUDA) endOp() {
	b.depth--
	if b.depth == 0 && len(b.temps) > 0 {
		b.releaseTemps()
	}
	runtime.UnlockOSThread()
}

// TimeOps starts (on) or stops timing every op; starting clears the totals.
func (b *CUDA) TimeOps(on bool) {
	defer b.op("")()
	if !on {
		if b.timer != nil {
			b.timer.flush()
			for _, e := range b.timer.pool {
				cu.DestroyEvent(&e)
			}
		}
		b.timer = nil
		return
	}
	b.timer = &opTimer{totals: map[string]*OpTime{}}
}

// OpTimes returns the device time per op since TimeOps(true), longest
// first.
func (b *CUDA) OpTimes() []OpTime {
	if b.timer == nil {
		return nil
	}
	func() {
		defer b.op("")()
		b.timer.flush()
	}()
	out := make([]OpTime, 0, len(b.timer.totals))
	for _, o := range b.timer.totals {
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	return out
}
