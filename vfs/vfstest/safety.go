package vfstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/signetsmb/signet/vfs"
)

// escapeNames are names that violate the FS path contract. Each must be
// refused with vfs.ErrInvalidName before the backend touches storage.
func escapeNames() []string {
	return []string{
		"..",
		"../x",
		"../../etc/passwd",
		"a/..",
		"a/../../x",
		"./../x",
		"a/f/../../../x",
		"/etc/passwd",
		"/",
		"//x",
		"x\x00y",
		"\x00",
		"a/\x00/f",
		"a/f\x00",
	}
}

func testEscapeAttempts(h *tester) {
	h.mkdir("a")
	h.create("a/f", "keep")
	for _, name := range escapeNames() {
		h.t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			sub := &tester{t: t, fs: h.fs, ctx: h.ctx}
			for what, err := range escapeOps(sub, name) {
				wantErr(t, err, vfs.ErrInvalidName, what)
			}
		})
	}
	if got := h.list("."); !equalStrings(got, []string{"a"}) {
		h.t.Errorf("root lists %q after escape attempts, want [a]", got)
	}
	if got := h.list("a"); !equalStrings(got, []string{"f"}) {
		h.t.Errorf("a lists %q after escape attempts, want [f]", got)
	}
	h.wantContent("a/f", "keep")
}

// escapeOps applies every name-taking operation to name, returning the
// errors by operation.
func escapeOps(h *tester, name string) map[string]error {
	errs := map[string]error{}
	for _, flag := range []int{os.O_RDONLY, os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_TRUNC} {
		f, err := h.fs.OpenFile(h.ctx, name, flag, 0o644)
		if err == nil {
			f.Close()
		}
		errs[fmt.Sprintf("OpenFile(%#x)", flag)] = err
	}
	_, errs["Stat"] = h.fs.Stat(h.ctx, name)
	errs["Mkdir"] = h.fs.Mkdir(h.ctx, name, 0o755)
	errs["Remove"] = h.fs.Remove(h.ctx, name)
	errs["Rename from"] = h.fs.Rename(h.ctx, name, "a/g", true)
	errs["Rename to"] = h.fs.Rename(h.ctx, "a/f", name, true)
	errs["Rename to (no replace)"] = h.fs.Rename(h.ctx, "a/f", name, false)
	if ts, ok := h.fs.(vfs.TimeSetter); ok {
		errs["SetTimes"] = ts.SetTimes(h.ctx, name, stamp(2001), stamp(2001))
	}
	if n, ok := h.fs.(vfs.Notifier); ok {
		_, errs["Watch"] = n.Watch(h.ctx, name, true)
	}
	return errs
}

func testCanceledContext(h *tester) {
	t := h.t
	h.create("f", "x")
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, err := h.fs.OpenFile(ctx, "new", os.O_RDWR|os.O_CREATE, 0o644)
	wantErr(t, err, context.Canceled, "OpenFile")
	_, err = h.fs.Stat(ctx, "f")
	wantErr(t, err, context.Canceled, "Stat")
	wantErr(t, h.fs.Mkdir(ctx, "d", 0o755), context.Canceled, "Mkdir")
	wantErr(t, h.fs.Remove(ctx, "f"), context.Canceled, "Remove")
	wantErr(t, h.fs.Rename(ctx, "f", "g", false), context.Canceled, "Rename")
	_, err = h.fs.StatFS(ctx)
	wantErr(t, err, context.Canceled, "StatFS")
	if got := h.list("."); !equalStrings(got, []string{"f"}) {
		t.Errorf("root lists %q after canceled operations, want [f]", got)
	}
}

func testConcurrentWriters(h *tester) {
	const writers, chunks, chunkSize = 8, 32, 1024
	var wg sync.WaitGroup
	errc := make(chan error, writers+1)
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() { errc <- writeChunks(h, fmt.Sprintf("w%d", w), byte('a'+w), chunks, chunkSize) })
	}
	var lister sync.WaitGroup
	lister.Go(func() { errc <- listUntil(h, stop) })
	wg.Wait()
	close(stop)
	lister.Wait()
	close(errc)
	for err := range errc {
		noErr(h.t, err, "concurrent worker")
	}
	for w := range writers {
		got := h.read(fmt.Sprintf("w%d", w))
		if len(got) != chunks*chunkSize || got != string(bytesOf(byte('a'+w), len(got))) {
			h.t.Errorf("file w%d corrupted (len %d)", w, len(got))
		}
	}
}

// writeChunks creates name and fills it with chunks of b, back to front.
func writeChunks(h *tester, name string, b byte, chunks, size int) error {
	f, err := h.fs.OpenFile(h.ctx, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	chunk := bytesOf(b, size)
	for i := chunks - 1; i >= 0; i-- {
		if _, err := f.WriteAt(chunk, int64(i*size)); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// listUntil lists and stats the root repeatedly until stop is closed.
func listUntil(h *tester, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		d, err := h.fs.OpenFile(h.ctx, ".", os.O_RDONLY, 0)
		if err != nil {
			return err
		}
		infos, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, fi := range infos {
			if _, err := h.fs.Stat(h.ctx, fi.Name); err != nil {
				return err
			}
		}
	}
}

func testConcurrentSameFile(h *tester) {
	const writers, size = 4, 4096
	h.create("shared", "")
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			f, err := h.fs.OpenFile(h.ctx, "shared", os.O_RDWR, 0)
			if err != nil {
				errs[w] = err
				return
			}
			_, err = f.WriteAt(bytesOf(byte('0'+w), size), int64(w*size))
			if err == nil {
				_, err = f.Stat()
			}
			errs[w] = errors.Join(err, f.Close())
		})
	}
	wg.Wait()
	for _, err := range errs {
		noErr(h.t, err, "concurrent writer")
	}
	got := h.read("shared")
	if len(got) != writers*size {
		h.t.Fatalf("shared file has %d bytes, want %d", len(got), writers*size)
	}
	for w := range writers {
		if part := got[w*size : (w+1)*size]; part != string(bytesOf(byte('0'+w), size)) {
			h.t.Errorf("region %d corrupted", w)
		}
	}
}

// bytesOf returns n copies of b.
func bytesOf(b byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = b
	}
	return p
}
