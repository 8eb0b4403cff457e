// Command transfer is Signet's transfer benchmark: it runs Signet's server
// and Samba's smbd side by side on loopback, both requiring signing, and
// moves a large random file to and from each with Signet's client, then
// reads it with smbclient from the same server in the same run. Every
// transfer is checked byte for byte (SHA-256). It prints a Markdown report
// (with the machine it ran on) and can write it to a file.
//
//	go run ./bench/transfer -size 1GiB -out docs/benchmarks.md
//
// It needs root (smbd and a Unix account for the Samba user) and the
// Debian packages samba and smbclient.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/signetsmb/signet/bench/internal/peers"
	"github.com/signetsmb/signet/client"
)

const (
	user     = peers.User
	password = peers.Password
)

func main() {
	size := flag.String("size", "1GiB", "file size (e.g. 256MiB, 1GiB)")
	out := flag.String("out", "", "also write the report to this file")
	dialect := flag.String("dialect", "3.1.1", "dialect for the Signet client and smbclient")
	flag.IntVar(&ioSize, "io", 0, "Signet client READ/WRITE size in bytes (0: the client's default)")
	flag.IntVar(&inFlight, "inflight", 0, "Signet client requests in flight per channel (0: the client's default)")
	flag.IntVar(&channels, "channels", 2, "also measure the Signet client with this many channels (multichannel, where the server offers it; 1: only one)")
	flag.BoolVar(&encrypt, "encrypt", false, "require SMB3 encryption (both clients; AES-128-GCM on 3.1.1) and add smbclient writes")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process (the clients) to the file")
	flag.StringVar(&workRoot, "dir", defaultWorkRoot(), "folder for the shares and local files (tmpfs keeps the disk out of the measurement)")
	flag.Parse()
	n, err := peers.ParseSize(*size)
	if err != nil {
		fatal(err)
	}
	d, err := client.ParseDialect(*dialect)
	if err != nil {
		fatal(err)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(n, d, *out); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "transfer:", err)
	os.Exit(1)
}

var (
	ioSize, inFlight, channels int
	encrypt                    bool
	workRoot                   string
)

// defaultWorkRoot prefers /dev/shm, so that disk write-back does not
// dominate the figures: the benchmark measures the protocol and signing.
func defaultWorkRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// result is one measured transfer.
type result struct {
	server, tool, op string
	mbps             float64
}

func run(size int64, dialect uint16, outPath string) error {
	work, err := os.MkdirTemp(workRoot, "signet-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755) // smbd serves a folder below it as the bench user
	src := filepath.Join(work, "src.bin")
	sum, err := makeFile(src, size)
	if err != nil {
		return err
	}
	signet, err := peers.Signet(filepath.Join(work, "signet"), user, password)
	if err != nil {
		return err
	}
	defer signet.Stop()
	samba, err := peers.Samba(filepath.Join(work, "samba"), user, password)
	if err != nil {
		return err
	}
	defer samba.Stop()
	var results []result
	for _, srv := range []struct{ name, addr string }{{"Signet", signet.Addr}, {"Samba smbd 4.17", samba.Addr}} {
		rs, err := measure(srv.name, srv.addr, src, sum, size, dialect, work)
		if err != nil {
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		results = append(results, rs...)
	}
	report := render(results, size, dialect)
	fmt.Print(report)
	if outPath != "" {
		return os.WriteFile(outPath, []byte(report), 0o644)
	}
	return nil
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
	return [32]byte(h.Sum(nil)), f.Sync()
}

// measure runs, against one server: Signet client upload and download
// with one channel and with -channels channels, and smbclient download;
// each verified.
func measure(name, addr, src string, sum [32]byte, size int64, dialect uint16, work string) ([]result, error) {
	rs, err := measureSignet(name, addr, src, sum, size, dialect, work, 1)
	if err != nil {
		return nil, err
	}
	if channels > 1 {
		mc, err := measureSignet(name, addr, src, sum, size, dialect, work, channels)
		if err != nil {
			return nil, err
		}
		rs = append(rs, mc...)
	}
	sm, err := measureSmbclient(name, addr, src, sum, size, dialect, work)
	if err != nil {
		return nil, err
	}
	return append(rs, sm...), nil
}

// signetTool names the Signet client with the channels it really got
// (one when the server does not offer multichannel).
func signetTool(asked, got int) string {
	if asked <= 1 {
		return "Signet client"
	}
	return fmt.Sprintf("Signet client, %d channels asked, %d bound", asked, got)
}

// measureSignet uploads and downloads with the Signet client, best of
// three each, with the session asking for nch channels.
func measureSignet(name, addr, src string, sum [32]byte, size int64, dialect uint16, work string, nch int) ([]result, error) {
	ctx := context.Background()
	dl := &client.Dialer{User: user, Password: password, RequireSigning: true, MinDialect: dialect, MaxDialect: dialect,
		IOSize: ioSize, MaxInFlight: inFlight, Channels: nch, RequireEncryption: encrypt}
	s, err := dl.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if !s.Signed() {
		return nil, errors.New("session not signed")
	}
	tool := signetTool(nch, s.Channels())
	if encrypt && !s.Encrypted() {
		return nil, errors.New("session not encrypted")
	}
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		return nil, err
	}
	defer sh.Umount()
	var rs []result
	// Upload, best of three.
	best := 0.0
	for i := 0; i < 3; i++ {
		in, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		f, err := sh.Create("bench.bin")
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		if _, err := f.ReadFrom(in); err != nil {
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		best = max(best, mbps(size, time.Since(t0)))
		in.Close()
	}
	rs = append(rs, result{name, tool, "write", best})
	// Download, best of three.
	best = 0.0
	local := filepath.Join(work, "signet-client.bin")
	for i := 0; i < 3; i++ {
		f, err := sh.OpenFile("bench.bin", os.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		out, err := os.Create(local)
		if err != nil {
			return nil, err
		}
		// Like smbclient's get: into a local file; checked afterwards.
		t0 := time.Now()
		n, err := f.WriteTo(out)
		if err == nil {
			err = out.Close()
		}
		el := time.Since(t0)
		f.Close()
		got, serr := fileSum(local)
		if err != nil || serr != nil || n != size || got != sum {
			return nil, fmt.Errorf("download %d bytes, err %v/%v, identical %v", n, err, serr, got == sum)
		}
		best = max(best, mbps(size, el))
	}
	os.Remove(local)
	rs = append(rs, result{name, tool, "read", best})
	return rs, sh.Remove("bench.bin")
}

// measureSmbclient downloads with smbclient to a file, checked, best of
// three; the Signet client puts the file first.
func measureSmbclient(name, addr, src string, sum [32]byte, size int64, dialect uint16, work string) ([]result, error) {
	ctx := context.Background()
	dl := &client.Dialer{User: user, Password: password, RequireSigning: true, MinDialect: dialect, MaxDialect: dialect}
	s, err := dl.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		return nil, err
	}
	defer sh.Umount()
	if err := putFile(sh, filepath.Join(work, "src.bin")); err != nil {
		return nil, err
	}
	var rs []result
	best := 0.0
	dst := filepath.Join(work, "smbclient.bin")
	m := map[uint16]string{0x0202: "SMB2_02", 0x0210: "SMB2_10", 0x0300: "SMB3_00", 0x0302: "SMB3_02", 0x0311: "SMB3_11"}[dialect]
	_, port, _ := net.SplitHostPort(addr)
	smbclient := func(cmd string) ([]byte, error) {
		args := []string{"//127.0.0.1/share", "-p", port, "-U", user + "%" + password,
			"-m", m, "--option=client signing=required", "-c", cmd}
		if encrypt {
			args = append(args, "--option=client smb encrypt=required")
		}
		return exec.Command("smbclient", args...).CombinedOutput()
	}
	if encrypt {
		// smbclient upload, best of three (encrypted runs only, as the
		// encryption issue asks for both directions).
		best = 0
		for i := 0; i < 3; i++ {
			t0 := time.Now()
			out, err := smbclient("put " + src + " smbclient-up.bin")
			el := time.Since(t0)
			if err != nil {
				return nil, fmt.Errorf("smbclient put: %v\n%s", err, out)
			}
			best = max(best, mbps(size, el))
		}
		rs = append(rs, result{name, "smbclient", "write", best})
		if err := sh.Remove("smbclient-up.bin"); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 3; i++ {
		os.Remove(dst)
		t0 := time.Now()
		out, err := smbclient("get bench.bin " + dst)
		el := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("smbclient: %v\n%s", err, out)
		}
		got, err := fileSum(dst)
		if err != nil || got != sum {
			return nil, fmt.Errorf("smbclient download differs (%v)", err)
		}
		best = max(best, mbps(size, el))
	}
	os.Remove(dst)
	rs = append(rs, result{name, "smbclient", "read", best})
	return rs, sh.Remove("bench.bin")
}

func putFile(sh *client.Share, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := sh.Create("bench.bin")
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(in); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fileSum(p string) ([32]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	return [32]byte(h.Sum(nil)), err
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }

func render(rs []result, size int64, dialect uint16) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Transfer benchmark\n\n")
	flagEnc := ""
	if encrypt {
		flagEnc = " -encrypt"
	}
	fmt.Fprintf(&b, "Produced by `go run ./bench/transfer -size %s -dialect %s -channels %d -dir %s%s` on %s.\n\n", humanSize(size), client.DialectName(dialect), channels, workRoot, flagEnc, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s, Go %s. Loopback TCP; both servers require signing; SMB %s", cpuModel(), runtime.NumCPU(), kernel(), strings.TrimPrefix(runtime.Version(), "go"), client.DialectName(dialect))
	if dialect == 0x0311 {
		b.WriteString(" (AES-128-GMAC signing)")
	}
	if encrypt {
		b.WriteString("; every session encrypted (both clients require it; AES-128-GCM on 3.1.1, AES-128-CCM on 3.0/3.0.2)")
	}
	fmt.Fprintf(&b, ". File: %s of random bytes, every transfer verified by SHA-256. Each server runs as its own process; every figure is the best of three; shares and local files live in %s, and every downloaded file is checked afterwards.\n\n", humanSize(size), workRoot)
	b.WriteString("| server | client | operation | MB/s |\n|---|---|---|---|\n")
	get := map[string]float64{}
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f |\n", r.server, r.tool, r.op, r.mbps)
		get[r.server+"/"+r.tool+"/"+r.op] = r.mbps
	}
	b.WriteString("\nRatios:\n\n")
	for _, srv := range []string{"Signet", "Samba smbd 4.17"} {
		fmt.Fprintf(&b, "- %s: Signet client read / smbclient read = %.2f\n", srv, get[srv+"/Signet client/read"]/get[srv+"/smbclient/read"])
	}
	fmt.Fprintf(&b, "- Signet client read: Signet server / Samba = %.2f\n", get["Signet/Signet client/read"]/get["Samba smbd 4.17/Signet client/read"])
	fmt.Fprintf(&b, "- smbclient read: Signet server / Samba = %.2f\n", get["Signet/smbclient/read"]/get["Samba smbd 4.17/smbclient/read"])
	fmt.Fprintf(&b, "- Signet client write: Signet server / Samba = %.2f\n", get["Signet/Signet client/write"]/get["Samba smbd 4.17/Signet client/write"])
	for _, r := range rs {
		if one := get[r.server+"/Signet client/"+r.op]; r.tool != "Signet client" && r.tool != "smbclient" && one > 0 {
			fmt.Fprintf(&b, "- %s, %s: %s / one channel = %.2f\n", r.server, r.op, r.tool, r.mbps/one)
		}
	}
	if encrypt {
		fmt.Fprintf(&b, "- smbclient write: Signet server / Samba = %.2f\n", get["Signet/smbclient/write"]/get["Samba smbd 4.17/smbclient/write"])
	}
	return b.String()
}

func humanSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return runtime.GOARCH
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "Linux"
	}
	var s []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return "Linux " + string(s)
}
