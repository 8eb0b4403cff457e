package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line transfer progress bar on standard error, only
// when standard error is a terminal; otherwise it counts silently.
type progress struct {
	name  string
	total int64 // -1 when unknown
	out   io.Writer
	start time.Time

	mu    sync.Mutex
	n     int64
	drawn time.Time
}

// progressInterval limits redraws.
const progressInterval = 100 * time.Millisecond

func newProgress(name string, total int64) *progress {
	p := &progress{name: name, total: total, start: time.Now()}
	if isTerminal(os.Stderr) {
		p.out = os.Stderr
	}
	return p
}

// add counts n bytes and redraws at most every progressInterval.
func (p *progress) add(n int) {
	if p.out == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if now := time.Now(); now.Sub(p.drawn) >= progressInterval {
		p.drawn = now
		p.draw(now)
	}
}

// draw writes the bar; p.mu is held.
func (p *progress) draw(now time.Time) {
	rate := float64(p.n) / max(now.Sub(p.start).Seconds(), 1e-3)
	line := fmt.Sprintf("%s %s %s/s", p.name, humanBytes(p.n), humanBytes(int64(rate)))
	if p.total > 0 {
		frac := min(float64(p.n)/float64(p.total), 1)
		const width = 30
		full := int(frac * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %s/%s %s/s", p.name, strings.Repeat("=", full), strings.Repeat(" ", width-full),
			100*frac, humanBytes(p.n), humanBytes(p.total), humanBytes(int64(rate)))
	}
	fmt.Fprintf(p.out, "\r%s\x1b[K", line)
}

// done draws the final state and ends the line.
func (p *progress) done(err error) {
	if p.out == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(time.Now())
	if err != nil {
		fmt.Fprint(p.out, " failed")
	}
	fmt.Fprintln(p.out)
}

// writer counts what is written to w.
func (p *progress) writer(w io.Writer) io.Writer { return &progressWriter{w: w, p: p} }

// reader counts what is read from r.
func (p *progress) reader(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }

type progressWriter struct {
	w io.Writer
	p *progress
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.add(n)
	return n, err
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(n)
	return n, err
}

// humanBytes formats n with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
