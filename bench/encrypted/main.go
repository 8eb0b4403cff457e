// Command encrypted compares SMB3 encrypted transfers with smbclient
// against Signet and Samba's smbd in the same run (issue 10): it starts
// both servers on loopback (peers: signing required), then, for -rounds
// rounds, puts and gets a random file with smbclient requiring encryption
// (`client smb encrypt = required`, 3.1.1 by default, where both servers
// choose AES-128-GCM), alternating which server goes first so that load
// from other jobs falls on both alike. Every get is checked (SHA-256). It
// prints each run, the median and spread per server and direction, the
// Signet/Samba ratio of the medians, and the servers' CPU seconds per GiB
// moved (from /proc), and smbclient's own CPU seconds per GiB with the rate
// that bounds: one smbclient thread cannot move data faster than 1 GiB per
// its CPU seconds per GiB, whatever the server.
//
//	go run ./bench/encrypted -size 1GiB -rounds 5
//
// It needs root (smbd and a Unix account for the Samba user) and the
// Debian packages samba and smbclient.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetsmb/signet/bench/internal/peers"
)

func main() {
	size := flag.String("size", "1GiB", "file size (e.g. 256MiB, 1GiB)")
	rounds := flag.Int("rounds", 5, "rounds; each puts and gets once per server")
	protocol := flag.String("m", "SMB3_11", "smbclient's -m (SMB3_00, SMB3_02, SMB3_11)")
	dir := flag.String("dir", defaultWorkRoot(), "folder for the shares and local files (tmpfs keeps the disk out)")
	flag.Parse()
	n, err := peers.ParseSize(*size)
	if err != nil {
		fatal(err)
	}
	if _, err := exec.LookPath("smbclient"); err != nil {
		fatal(fmt.Errorf("smbclient not found: apt-get install smbclient samba"))
	}
	if err := run(n, *rounds, *protocol, *dir); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "encrypted:", err)
	os.Exit(1)
}

type server struct {
	name string
	srv  *peers.Server
	cpu  map[string]float64   // "put"/"get" -> server CPU seconds
	ccpu map[string]float64   // "put"/"get" -> smbclient's CPU seconds
	runs map[string][]float64 // "put"/"get" -> MB/s
}

func run(size int64, rounds int, protocol, root string) error {
	work, err := os.MkdirTemp(root, "signet-enc")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)
	src := filepath.Join(work, "src.bin")
	sum, err := makeFile(src, size)
	if err != nil {
		return err
	}
	signet, err := peers.Signet(filepath.Join(work, "signet"), peers.User, peers.Password)
	if err != nil {
		return err
	}
	defer signet.Stop()
	samba, err := peers.Samba(filepath.Join(work, "samba"), peers.User, peers.Password)
	if err != nil {
		return err
	}
	defer samba.Stop()
	servers := []*server{{name: "Signet", srv: signet}, {name: "Samba", srv: samba}}
	for _, s := range servers {
		s.runs = map[string][]float64{}
		s.cpu = map[string]float64{}
		s.ccpu = map[string]float64{}
	}
	dst := filepath.Join(work, "got.bin")
	for r := range rounds {
		order := servers
		if r%2 == 1 {
			order = []*server{servers[1], servers[0]}
		}
		for _, op := range []string{"put", "get"} {
			for _, s := range order {
				cmd := "put " + src + " bench.bin"
				if op == "get" {
					os.Remove(dst)
					cmd = "get bench.bin " + dst
				}
				cpu0 := cpuSeconds(s.srv.PIDs()[0])
				el, ccpu, err := smbclient(s.srv.Addr, protocol, cmd)
				s.ccpu[op] += ccpu
				time.Sleep(300 * time.Millisecond) // smbd reaps its connection's child
				s.cpu[op] += cpuSeconds(s.srv.PIDs()[0]) - cpu0
				if err != nil {
					return fmt.Errorf("%s %s: %w", s.name, op, err)
				}
				if op == "get" {
					if got, err := fileSum(dst); err != nil || got != sum {
						return fmt.Errorf("%s: downloaded file differs (%v)", s.name, err)
					}
				}
				v := float64(size) / el.Seconds() / 1e6
				s.runs[op] = append(s.runs[op], v)
				fmt.Printf("round %d %-6s %s %7.0f MB/s\n", r+1, s.name, op, v)
			}
		}
	}
	fmt.Printf("\n%s, %d MiB, %d rounds, smbclient -m %s, client smb encrypt = required (AES-128-GCM), signing required; %d CPUs, load average %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), size>>20, rounds, protocol, runtime.NumCPU(), loadAvg())
	fmt.Println("| server | put median MB/s (min-max) | get median MB/s (min-max) | server CPU s/GiB put | get | smbclient CPU s/GiB put | get |")
	fmt.Println("|---|---|---|---|---|---|---|")
	med := map[string]float64{}
	clientCPU := map[string]float64{}
	gib := float64(rounds) * float64(size) / (1 << 30)
	for _, s := range servers {
		fmt.Printf("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f |\n", s.name, spread(s.runs["put"]), spread(s.runs["get"]),
			s.cpu["put"]/gib, s.cpu["get"]/gib, s.ccpu["put"]/gib, s.ccpu["get"]/gib)
		med[s.name+"put"], med[s.name+"get"] = median(s.runs["put"]), median(s.runs["get"])
		for _, op := range []string{"put", "get"} {
			clientCPU[op] = min(nonZero(clientCPU[op]), s.ccpu[op]/gib)
		}
	}
	fmt.Printf("\nSignet/Samba (medians): put %.2f, get %.2f\n", med["Signetput"]/med["Sambaput"], med["Signetget"]/med["Sambaget"])
	// smbclient is one thread: with a core to itself and a server that
	// costs nothing it moves at most 1 GiB per its CPU seconds per GiB.
	// That bounds the ratio any server can reach against Samba's median.
	for _, op := range []string{"put", "get"} {
		if clientCPU[op] <= 0 {
			continue
		}
		bound := (1 << 30) / clientCPU[op] / 1e6
		fmt.Printf("smbclient %s bound: %.0f MB/s (1 GiB per %.2f s of its own CPU), %.2fx Samba's median\n",
			op, bound, clientCPU[op], bound/med["Samba"+op])
	}
	return nil
}

// smbclient runs one command with encryption required and returns how
// long it took.
func smbclient(addr, protocol, cmd string) (time.Duration, float64, error) {
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"//127.0.0.1/share", "-p", port, "-U", peers.User + "%" + peers.Password, "-m", protocol,
		"--option=client min protocol=" + protocol, "--option=client signing=required",
		"--option=client smb encrypt=required", "-c", cmd}
	t0 := time.Now()
	c := exec.Command("smbclient", args...)
	out, err := c.CombinedOutput()
	el := time.Since(t0)
	if err != nil {
		return 0, 0, fmt.Errorf("smbclient: %v\n%s", err, out)
	}
	return el, (c.ProcessState.UserTime() + c.ProcessState.SystemTime()).Seconds(), nil
}

// nonZero maps 0 (nothing recorded yet) to +Inf for min.
func nonZero(v float64) float64 {
	if v == 0 {
		return math.Inf(1)
	}
	return v
}

// cpuSeconds is a process's user+system CPU time, its reaped children
// included (smbd forks one child per connection).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var t float64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, _ := strconv.ParseFloat(f[i], 64)
		t += v
	}
	return t / 100 // USER_HZ
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(v []float64) string {
	return fmt.Sprintf("%.0f (%.0f-%.0f)", median(v), slices.Min(v), slices.Max(v))
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func makeFile(path string, size int64) ([32]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

func fileSum(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

func defaultWorkRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}
