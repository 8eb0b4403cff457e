// Package admin is the local administration channel of `signet serve`: a
// unix socket (mode 0600, connections from other users refused where the
// system reports the peer's uid) carrying one JSON request and one JSON
// response per connection. `signet status`, `signet policy set`, `signet
// audit report` and `signet sessions close` are its clients.
package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// Request is one administrative call.
type Request struct {
	// Op is "status", "audit", "policy_set" or "close_sessions".
	Op string `json:"op"`
	// Set holds KEY=VALUE assignments for "policy_set".
	Set []string `json:"set,omitempty"`
	// Unsigned and User select the sessions "close_sessions" ends.
	Unsigned bool   `json:"unsigned,omitempty"`
	User     string `json:"user,omitempty"`
}

// Response is the answer: Error, or the op's result as raw JSON.
type Response struct {
	Error  string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Handler answers a request; an error becomes Response.Error.
type Handler func(ctx context.Context, req Request) (any, error)

// Limits of the channel: it is local and used by people and scripts, so
// a few calls at once suffice.
const (
	maxRequest  = 64 << 10
	maxParallel = 8
	ioTimeout   = 30 * time.Second
)

// Listen creates the socket at path with mode 0600. A socket file left by
// a server that is gone is replaced; one that answers is an error.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("admin socket %s: a file that is not a socket is in the way", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: another signet server is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: removing the stale socket: %v", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("admin socket: %v", err)
	}
	return l, nil
}

// Serve answers calls on l until ctx is done, then closes l, waits for the
// calls in progress and returns. At most maxParallel calls run at once.
func Serve(ctx context.Context, l net.Listener, h Handler, log *slog.Logger) {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	sem := make(chan struct{}, maxParallel)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				log.Warn("admin socket: accept failed; admin commands unavailable", "err", err)
			}
			return
		}
		if err := checkPeer(c); err != nil {
			log.Warn("admin socket: connection refused", "err", err)
			c.Close()
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			writeResponse(c, Response{Error: "busy: too many admin calls at once"})
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			defer c.Close()
			serveConn(ctx, c, h)
		})
	}
}

func serveConn(ctx context.Context, c net.Conn, h Handler) {
	c.SetDeadline(time.Now().Add(ioTimeout))
	line, err := bufio.NewReaderSize(&limitedReader{c, maxRequest}, 4096).ReadBytes('\n')
	if err != nil {
		writeResponse(c, Response{Error: "no complete request line: " + err.Error()})
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		writeResponse(c, Response{Error: "malformed request: " + err.Error()})
		return
	}
	res, err := h(ctx, req)
	if err != nil {
		writeResponse(c, Response{Error: err.Error()})
		return
	}
	raw, err := json.Marshal(res)
	if err != nil {
		writeResponse(c, Response{Error: err.Error()})
		return
	}
	writeResponse(c, Response{Result: raw})
}

func writeResponse(c net.Conn, r Response) {
	b, _ := json.Marshal(r)
	c.Write(append(b, '\n'))
}

type limitedReader struct {
	c net.Conn
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request too large")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.Read(p)
	l.n -= n
	return n, err
}

// Call sends req to the server listening at path and decodes its result
// into out (which may be nil).
func Call(ctx context.Context, path string, req Request, out any) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no running server at %s (is `signet serve` running with this configuration?): %v", path, err)
		}
		return fmt.Errorf("cannot reach the server at %s (is `signet serve` running with this configuration?): %v", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(ioTimeout))
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return err
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("reading the server's answer: %v", err)
	}
	if resp.Error != "" {
		return errors.New(resp.Error)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(resp.Result, out)
}
