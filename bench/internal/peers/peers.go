// Package peers starts the servers the benchmark programs compare: Signet
// (`signet serve`, built from this repository) and Samba's smbd, each as
// its own process on loopback, both requiring signing, with one share
// named "share" and one user.
package peers

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running server process.
type Server struct {
	Addr  string
	Share string // the share's folder on disk
	cmd   *exec.Cmd
	group bool // stop the whole process group (smbd forks)
	log   bytes.Buffer
}

// User and Password are the account both benchmark programs create on
// Signet and Samba (a Unix user of that name is needed for smbd).
const (
	User     = "benchuser"
	Password = "Bench-pass#1"
)

// PIDs returns the server's process and its descendants.
func (s *Server) PIDs() []int {
	out := []int{s.cmd.Process.Pid}
	for i := 0; i < len(out); i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", out[i], out[i]))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.Atoi(f); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// Pid is the server's main process.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop ends the server.
func (s *Server) Stop() {
	s.Signal()
	s.cmd.Wait()
}

// Signal asks the server (for smbd: its whole process group) to end,
// without waiting; it may be called from any goroutine, also while
// another is in Stop.
func (s *Server) Signal() {
	if s.group {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	} else {
		s.cmd.Process.Signal(syscall.SIGTERM)
	}
}

// checkFree fails when something already listens on addr (a server left
// from an earlier run would otherwise answer in place of the new one).
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use (a server left from an earlier run?): %v", addr, err)
	}
	return l.Close()
}

// Options tune a server started by SignetWith or SambaWith.
type Options struct {
	// Addr is the address to listen on; "" picks a free loopback port.
	Addr string
	// Unsigned turns required signing off (the server still signs when
	// a client asks).
	Unsigned bool
	// MaxConnections raises the server's connection limits (Signet's
	// max_connections and max_connections_per_addr) for idle-session
	// runs; 0 keeps the defaults.
	MaxConnections int
	// Bin is a signet binary built by BuildSignet; "" builds one into
	// the server's folder.
	Bin string
	// SharePath is the share's folder; "" is dir/share. Cluster nodes
	// share one folder.
	SharePath string
	// Cluster, when it has endpoints, makes the server a node of that
	// etcd cluster (a [cluster] table; docs/cluster.md).
	Cluster ClusterOptions
}

// ClusterOptions is the [cluster] table of a Signet node.
type ClusterOptions struct {
	Endpoints []string
	Node      string // unique per node
	Prefix    string // root of the keys in etcd; "" keeps the default
}

// BuildSignet builds ./cmd/signet (of the module the current folder is
// in) into dir and returns the binary's path.
func BuildSignet(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "signet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/signet")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/signet: %v\n%s", err, out)
	}
	return bin, nil
}

// Signet builds ./cmd/signet (of the module the current folder is in) into
// dir and serves dir/share, requiring signing, for user/password.
func Signet(dir, user, password string) (*Server, error) {
	return SignetWith(dir, user, password, Options{})
}

// ModuleRoot is the folder of the go.mod the current folder belongs to.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the Signet repository (no go.mod found)")
	}
	return filepath.Dir(mod), nil
}

// SignetWith is Signet with options.
func SignetWith(dir, user, password string, o Options) (*Server, error) {
	share := o.SharePath
	if share == "" {
		share = filepath.Join(dir, "share")
	}
	for _, d := range []string{dir, share} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	bin, err := o.Bin, error(nil)
	if bin == "" {
		if bin, err = BuildSignet(dir); err != nil {
			return nil, err
		}
	}
	addr := o.Addr
	if addr == "" {
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	} else if err := checkFree(addr); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "signet.toml")
	text := fmt.Sprintf("[server]\nlisten = %q\nrequire_signing = %v\nusers_file = \"users\"\n[[share]]\nname = \"share\"\npath = %q\n", addr, !o.Unsigned, share)
	if o.MaxConnections > 0 {
		text += fmt.Sprintf("[limits]\nmax_connections = %d\nmax_connections_per_addr = %d\n", o.MaxConnections, o.MaxConnections)
	}
	if c := o.Cluster; len(c.Endpoints) > 0 {
		text += fmt.Sprintf("[cluster]\nendpoints = [\"%s\"]\nnode = %q\n", strings.Join(c.Endpoints, `", "`), c.Node)
		if c.Prefix != "" {
			text += fmt.Sprintf("prefix = %q\n", c.Prefix)
		}
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	add := exec.Command(bin, "user", "add", user, "--users-file", filepath.Join(dir, "users"))
	add.Env = append(os.Environ(), "SIGNET_PASSWORD="+password)
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("signet user add: %v %s", err, out)
	}
	s := &Server{Addr: addr, Share: share, cmd: exec.Command(bin, "serve", "--config", conf)}
	return s, s.start()
}

// Samba runs a private smbd (the PEERS.md recipe) serving dir/share with
// `server signing = mandatory`. It needs root for the Unix account.
func Samba(dir, user, password string) (*Server, error) {
	return SambaWith(dir, user, password, Options{})
}

// SambaWith is Samba with options (MaxConnections is not used: smbd has
// no connection limit by default).
func SambaWith(dir, user, password string, o Options) (*Server, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("smbd needs root here (Unix account and smbd)")
	}
	if exec.Command("id", user).Run() != nil {
		if out, err := exec.Command("useradd", "-M", user).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("useradd: %v %s", err, out)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, sub := range []string{"share", "private", "lock", "state", "cache", "pid", "ncalrpc"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			return nil, err
		}
	}
	share := filepath.Join(dir, "share")
	os.Chmod(share, 0o777)
	addr := o.Addr
	if addr == "" {
		var err error
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	} else if err := checkFree(addr); err != nil {
		return nil, err
	}
	signing := "mandatory"
	if o.Unsigned {
		signing = "auto"
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "smb.conf")
	text := fmt.Sprintf(`[global]
smb ports = %[2]s
interfaces = lo
bind interfaces only = yes
server role = standalone server
server signing = %[4]s
server multi channel support = yes
server min protocol = SMB2_02
passdb backend = tdbsam:%[1]s/private/passdb.tdb
private dir = %[1]s/private
lock directory = %[1]s/lock
state directory = %[1]s/state
cache directory = %[1]s/cache
pid directory = %[1]s/pid
ncalrpc dir = %[1]s/ncalrpc
log file = %[1]s/log
max log size = 0
load printers = no
disable spoolss = yes
printcap name = /dev/null
map to guest = never
server services = -nbt
[share]
path = %[3]s
read only = no
`, dir, port, share, signing)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	add := exec.Command("smbpasswd", "-s", "-c", conf, "-a", user)
	add.Stdin = strings.NewReader(password + "\n" + password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("smbpasswd: %v %s", err, out)
	}
	s := &Server{Addr: addr, Share: share, group: true, cmd: exec.Command("smbd", "-F", "--no-process-group", "-s", conf)}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return s, s.start()
}

func (s *Server) start() error {
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("%s did not start listening on %s: %s", s.cmd.Path, s.Addr, s.log.String())
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ParseSize reads a byte count written as digits with an optional KiB,
// MiB or GiB suffix (8MiB, 1GiB), as the benchmark programs' -size flags
// take it.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("bad size %q (e.g. 8MiB, 1GiB)", s)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %v", s, err)
	}
	switch m[2] {
	case "KiB":
		v <<= 10
	case "MiB":
		v <<= 20
	case "GiB":
		v <<= 30
	}
	return v, nil
}

var sizeRE = regexp.MustCompile(`^(\d+)(KiB|MiB|GiB)?$`)

// Command starts cmd as a server that will listen on addr, and returns
// once it does (the bound measurement's null-share server is the
// benchmark program itself, started again in another mode).
func Command(addr string, cmd *exec.Cmd) (*Server, error) {
	if err := checkFree(addr); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, cmd: cmd}
	return s, s.start()
}
