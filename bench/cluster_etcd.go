package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// etcdHint is what the cluster part prints when etcd is missing.
const etcdHint = "etcd not found; install it to measure the cluster part (Debian/Ubuntu: apt-get install etcd-server)"

// etcdBinary finds Debian's etcd (package etcd-server), or returns "".
func etcdBinary() string {
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	for _, c := range []string{"/usr/bin/etcd", "/usr/sbin/etcd"} {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

// etcdCluster is an etcd cluster of member processes on loopback, started
// by startEtcd for the cluster part (cluster/etcdtest does the same for
// tests, but needs a testing.TB). Ownership: the benchmark's main loop
// owns it; stop ends every member and waits for it.
type etcdCluster struct {
	members []*etcdMember
}

type etcdMember struct {
	name, dir, clientURL string
	cmd                  *exec.Cmd
	log                  *os.File
}

// startEtcd starts an n-member etcd cluster with its data under dir and
// waits until every member answers /health.
func startEtcd(bin, dir string, n int) (*etcdCluster, error) {
	c := &etcdCluster{}
	var init []string
	peerURLs := make([]string, n)
	for i := range n {
		cp, err := freeAddr()
		if err != nil {
			return nil, err
		}
		pp, err := freeAddr()
		if err != nil {
			return nil, err
		}
		m := &etcdMember{name: fmt.Sprintf("m%d", i), dir: filepath.Join(dir, fmt.Sprintf("m%d", i)), clientURL: "http://" + cp}
		peerURLs[i] = "http://" + pp
		c.members = append(c.members, m)
		init = append(init, m.name+"="+peerURLs[i])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for i, m := range c.members {
		m.cmd = exec.Command(bin,
			"--name", m.name, "--data-dir", m.dir,
			"--listen-client-urls", m.clientURL, "--advertise-client-urls", m.clientURL,
			"--listen-peer-urls", peerURLs[i], "--initial-advertise-peer-urls", peerURLs[i],
			"--initial-cluster", strings.Join(init, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "signet-bench", "--log-level", "error", "--logger", "zap")
		log, err := os.Create(m.dir + ".log")
		if err != nil {
			c.stop()
			return nil, err
		}
		m.log = log
		m.cmd.Stdout, m.cmd.Stderr = log, log
		if err := m.cmd.Start(); err != nil {
			m.cmd = nil
			c.stop()
			return nil, err
		}
	}
	for _, m := range c.members {
		if err := waitEtcdHealthy(m.clientURL, 30*time.Second); err != nil {
			b, _ := os.ReadFile(m.dir + ".log")
			c.stop()
			return nil, fmt.Errorf("etcd member %s: %v; log:\n%s", m.name, err, b)
		}
	}
	return c, nil
}

// freeAddr is a free loopback address (host:port).
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitEtcdHealthy(url string, limit time.Duration) error {
	cl := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := cl.Get(url + "/health")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), `"health":"true"`) {
				return nil
			}
			err = fmt.Errorf("/health: %s %s", resp.Status, b)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// endpoints are the members' client URLs.
func (c *etcdCluster) endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.clientURL)
	}
	return out
}

// pids are the members' processes (for CPU from /proc).
func (c *etcdCluster) pids() []int {
	var out []int
	for _, m := range c.members {
		if m.cmd != nil {
			out = append(out, m.cmd.Process.Pid)
		}
	}
	return out
}

// signal asks every member to end without waiting (interrupt path).
func (c *etcdCluster) signal() {
	for _, m := range c.members {
		if m.cmd != nil {
			m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
}

// stop ends every member and waits for it.
func (c *etcdCluster) stop() {
	for _, m := range c.members {
		if m.cmd != nil {
			m.cmd.Process.Signal(syscall.SIGTERM)
			m.cmd.Wait()
			m.cmd = nil
		}
		if m.log != nil {
			m.log.Close()
			m.log = nil
		}
	}
}

// kvRequests sums, over every member, the KV requests etcd has handled
// (grpc_server_handled_total of service etcdserverpb.KV from /metrics), by
// method (Range, Txn, DeleteRange, Put). Each request is handled by the
// one member the client sent it to, so the sum counts it once.
func (c *etcdCluster) kvRequests() (map[string]float64, error) {
	out := map[string]float64{}
	cl := http.Client{Timeout: 5 * time.Second}
	for _, m := range c.members {
		resp, err := cl.Get(m.clientURL + "/metrics")
		if err != nil {
			return nil, err
		}
		err = parseKVRequests(resp.Body, out)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("etcd %s /metrics: %w", m.name, err)
		}
	}
	return out, nil
}

// parseKVRequests adds the grpc_server_handled_total samples of service
// etcdserverpb.KV in a Prometheus text exposition to out, by method.
func parseKVRequests(r io.Reader, out map[string]float64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "grpc_server_handled_total{") || !strings.Contains(line, `grpc_service="etcdserverpb.KV"`) {
			continue
		}
		i := strings.LastIndexByte(line, '}')
		v, err := strconv.ParseFloat(strings.TrimSpace(line[i+1:]), 64)
		if err != nil {
			return fmt.Errorf("bad sample %q", line)
		}
		method := label(line[:i], "grpc_method")
		if method == "" {
			return fmt.Errorf("no grpc_method in %q", line)
		}
		out[method] += v
		seen = true
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !seen {
		return fmt.Errorf("no grpc_server_handled_total samples for etcdserverpb.KV")
	}
	return nil
}

// label returns the value of label name in a Prometheus sample's label
// set text (`metric{a="x",b="y"`).
func label(s, name string) string {
	i := strings.Index(s, name+`="`)
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+2:]
	j := strings.IndexByte(s, '"')
	if j < 0 {
		return ""
	}
	return s[:j]
}
