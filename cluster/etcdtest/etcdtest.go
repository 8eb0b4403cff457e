// Package etcdtest starts etcd clusters of Debian's etcd binary on
// loopback for tests. It is imported by tests only.
//
// Ownership: a Cluster owns its member processes; Stop and Start change
// one member, Close (registered with t.Cleanup) kills every member.
package etcdtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Binary finds the etcd binary, or skips the test with an install hint
// (fails it under CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("etcd")
	if err != nil {
		for _, c := range []string{"/usr/bin/etcd", "/usr/sbin/etcd"} {
			if _, err := os.Stat(c); err == nil {
				return c
			}
		}
		msg := "etcd not found; install it with: apt-get install etcd-server"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Member is one etcd process.
type Member struct {
	Name, Dir          string
	ClientURL, PeerURL string
	cmd                *exec.Cmd
	exited             chan struct{}
}

// Cluster is a running etcd cluster.
type Cluster struct {
	t       testing.TB
	bin     string
	initial string
	Members []*Member
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs an n-member cluster and waits until it answers.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t)}
	dir := t.TempDir()
	var init []string
	for i := 0; i < n; i++ {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			Dir:       filepath.Join(dir, fmt.Sprintf("m%d", i)),
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		}
		c.Members = append(c.Members, m)
		init = append(init, m.Name+"="+m.PeerURL)
	}
	c.initial = strings.Join(init, ",")
	t.Cleanup(c.Close)
	for i := range c.Members {
		c.Start(i)
	}
	c.WaitHealthy(0)
	return c
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

// Start (re)starts member i on its data directory.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	m := c.Members[i]
	state := "new"
	if _, err := os.Stat(m.Dir); err == nil {
		state = "existing"
	}
	cmd := exec.Command(c.bin,
		"--name", m.Name, "--data-dir", m.Dir,
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", c.initial, "--initial-cluster-state", state,
		"--initial-cluster-token", "signet-test",
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--log-level", "error", "--logger", "zap")
	log, err := os.Create(m.Dir + ".log")
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	m.cmd = cmd
	m.exited = make(chan struct{})
	go func(ch chan struct{}) { cmd.Wait(); log.Close(); close(ch) }(m.exited)
}

// Stop kills member i (SIGKILL) and waits for it to exit.
func (c *Cluster) Stop(i int) {
	m := c.Members[i]
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.exited
	m.cmd = nil
}

// WaitHealthy waits (up to 20s) until member i serves a linearizable read.
func (c *Cluster) WaitHealthy(i int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if healthy(c.Members[i].ClientURL) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(c.Members[i].Dir + ".log")
	c.t.Fatalf("etcd member %s not healthy; log:\n%s", c.Members[i].Name, b)
}

// Close kills every member.
func (c *Cluster) Close() {
	for i := range c.Members {
		c.Stop(i)
	}
}

func healthy(url string) bool {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(url + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`)
}
