package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ceilingEnv, when set in the environment ("ADDR SIZE"), turns this
// program (or its test binary) into the sending half of the ceiling
// measurement: it connects to ADDR, writes SIZE bytes and exits.
const ceilingEnv = "SIGNET_BENCH_CEILING_SEND"

const ceilingBuf = 1 << 20

// ceilingSender runs the sending process when ceilingEnv is set; it
// reports whether it did (the caller then exits).
func ceilingSender() bool {
	v := os.Getenv(ceilingEnv)
	if v == "" {
		return false
	}
	addr, sizeText, _ := strings.Cut(v, " ")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err == nil {
		err = sendBytes(addr, size)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling sender:", err)
		os.Exit(1)
	}
	return true
}

func sendBytes(addr string, size int64) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, ceilingBuf)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for size > 0 {
		n := int64(len(buf))
		if size < n {
			n = size
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

// measureCeiling copies size bytes over loopback TCP from a second
// process (this program run again) into this one and returns MB/s: the
// most any SMB transfer between two processes on this machine can reach.
func measureCeiling(size int64) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", ceilingEnv, l.Addr(), size))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer cmd.Wait()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second))
	c, err := l.Accept()
	if err != nil {
		cmd.Process.Kill()
		return 0, err
	}
	defer c.Close()
	t0 := time.Now()
	// A plain read loop: io.Copy would hand the work to io.Discard's
	// ReadFrom and its 8 KiB buffer.
	buf := make([]byte, ceilingBuf)
	var n int64
	for {
		m, err := c.Read(buf)
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	el := time.Since(t0)
	if n != size {
		return 0, fmt.Errorf("ceiling: received %d bytes of %d", n, size)
	}
	return mbps(size, el), nil
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }
