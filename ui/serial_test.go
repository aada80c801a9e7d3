package ui

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// newSerialApp is Fyne's headless test app with the real driver's
// threading: functions handed to fyne.Do and fyne.DoAndWait run one at a
// time, in order, on one UI goroutine, and fyne.Do returns at once. The
// test driver runs each on its caller's goroutine instead, so an engine
// event arriving while a test inspects a screen would interleave with it
// (a test could see a run marked finished before its result was shown).
func newSerialApp(t *testing.T) fyne.App {
	t.Helper()
	a := test.NewTempApp(t)
	d := &serialDriver{Driver: a.Driver(), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	started := make(chan struct{})
	go d.loop(started)
	<-started
	t.Cleanup(func() { close(d.stop) })
	s := &serialApp{App: a, driver: d}
	fyne.SetCurrentApp(s)
	return s
}

type serialApp struct {
	fyne.App
	driver *serialDriver
}

func (a *serialApp) Driver() fyne.Driver { return a.driver }

// serialDriver queues UI functions for its loop goroutine.
type serialDriver struct {
	fyne.Driver
	mu    sync.Mutex
	queue []serialCall
	wake  chan struct{}
	stop  chan struct{}
	ui    atomic.Uint64 // the loop's goroutine id
}

type serialCall struct {
	fn   func()
	done chan struct{} // nil for fyne.Do
}

func (d *serialDriver) DoFromGoroutine(fn func(), wait bool) {
	if wait && goroutineID() == d.ui.Load() {
		fn() // DoAndWait from a UI function: it cannot wait for itself
		return
	}
	c := serialCall{fn: fn}
	if wait {
		c.done = make(chan struct{})
	}
	d.mu.Lock()
	d.queue = append(d.queue, c)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if wait {
		<-c.done
	}
}

func (d *serialDriver) loop(started chan<- struct{}) {
	d.ui.Store(goroutineID())
	close(started)
	for {
		select {
		case <-d.stop:
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			if len(d.queue) == 0 {
				d.mu.Unlock()
				break
			}
			c := d.queue[0]
			d.queue = d.queue[1:]
			d.mu.Unlock()
			c.fn()
			if c.done != nil {
				close(c.done)
			}
		}
	}
}

// goroutineID reads the current goroutine's number from its stack header
// ("goroutine 17 [running]:"); tests only.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("cannot read the goroutine id from " + strconv.Quote(string(buf[:])))
	}
	return id
}
