// Command bench is Signet's performance benchmark (issue 8). In one run it
// starts Signet and Samba's smbd on loopback, both requiring signing, with
// their shares on tmpfs, and measures several times each (medians and
// spread):
//
//   - the ceiling: a raw TCP copy of the same size between two processes;
//   - sequential read and write of one file (1 GiB by default) with
//     smbclient (3.1.1 AES-128-GMAC, 3.0.2 AES-128-CMAC), the Signet client
//     (GMAC, CMAC, HMAC-SHA256) and cloudsoda/go-smb2 (3.0.2 CMAC) against
//     both servers, every copy checked by SHA-256, with each server's CPU
//     seconds per GiB moved (from /proc);
//   - Signet signed against Signet with signing not required, same client;
//   - encrypted transfers (3.1.1 AES-128-GCM) with smbclient and the Signet
//     client, and (3.0.2 AES-128-CCM) with smbclient, against both servers;
//   - small files (create, write 4 KiB, close, stat, delete) from 1 and from
//     8 sessions at once;
//   - a folder of 100,000 entries listed, with the Signet client
//     (FileDirectoryInformation) and with smbclient
//     (FileIdBothDirectoryInformation, the class Windows and macOS ask for);
//   - server memory (PSS) per idle signed session at 1,000 and 10,000;
//   - the cluster part (issue 15, bench/cluster.go): opens and closes per
//     second, transfers and the coordination cost (latency, etcd requests
//     and CPU per open) on one node without a cluster, one node with a
//     one- and a three-member etcd, and three nodes; it needs Debian's
//     etcd (package etcd-server) and is skipped with that hint without it.
//
// It prints ratios (Signet/Samba, Signet/ceiling, signed/unsigned, CPU)
// and each target of issue 8 met or missed, and writes the report to
// docs/PERFORMANCE.md. It installs nothing: without smbd or smbclient it
// says what to install and measures Signet alone.
//
//	go run ./bench                       # everything, 1 GiB, 3 runs
//	go run ./bench -short                # smoke run: 8 MiB, 1 run, seconds (no cluster part)
//	go run ./bench -only cluster         # the scale-out figures alone, into their section of PERFORMANCE.md
//	go run ./bench -only transfer,small -size 256MiB -runs 5
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signetsmb/signet/bench/internal/peers"
)

// parts of the benchmark, as -only names them.
var allParts = []string{"ceiling", "transfer", "unsigned", "encrypt", "bound", "small", "dir", "idle", "cluster"}

// config is the parsed command line.
type config struct {
	size         int64
	runs         int
	parts        map[string]bool
	smallFiles   int
	smallClients []int
	dirEntries   int
	idle         []int
	sambaIdle    int
	samba        string // "auto", "on", "off"
	port         int
	workRoot     string
	out          string
	short        bool
	profile      bool
	clients      []string
	note         string
	cmdline      string
	// the cluster part (bench/cluster.go)
	clusterClients int
	clusterOpens   int
	etcdDir        string // "": below the work folder
}

func main() {
	if ceilingSender() || nullServer() {
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.String("size", "1GiB", "transfer size (e.g. 8MiB, 256MiB, 1GiB)")
	runs := fs.Int("runs", 3, "times each measurement is taken (medians and spread are reported)")
	only := fs.String("only", "", "comma-separated parts to run: "+strings.Join(allParts, ",")+" (default: all)")
	smallFiles := fs.Int("small-files", 4000, "files per small-file measurement")
	smallClients := fs.String("small-clients", "1,8", "concurrent sessions for the small-file measurements")
	dirEntries := fs.Int("dir-entries", 100000, "entries in the listed folder")
	idle := fs.String("idle", "1000,10000", "idle signed sessions against Signet (one measurement each)")
	sambaIdle := fs.Int("samba-idle", 1000, "idle signed sessions against Samba (one smbd process each; 0 skips)")
	samba := fs.String("samba", "auto", "compare with Samba's smbd: auto (when installed and root), on (fail without it), off")
	port := fs.Int("port", 20600, "first of the loopback ports the servers listen on (Signet, Signet unsigned, Samba, then idle servers)")
	workRoot := fs.String("dir", defaultWorkRoot(), "folder for the shares and local files (tmpfs keeps the disk out of the figures)")
	out := fs.String("out", "docs/PERFORMANCE.md", "write the Markdown report to this file (relative to the repository root; \"\": only print)")
	clients := fs.String("clients", "", "comma-separated words: transfer cases whose client name contains one of them (e.g. smbclient,GMAC); default all")
	note := fs.String("note", "", "a sentence for the report about the conditions (e.g. \"machine shared with other jobs\")")
	profile := fs.Bool("profile", true, "after the runs, sample each server with perf during one extra read and write with smbclient (GMAC, and AES-128-GCM encrypted) and the Signet client (GMAC), and add the top symbols to the report (needs perf and root)")
	clusterClients := fs.Int("cluster-clients", 6, "cluster part: sessions working at once, spread round-robin over the nodes")
	clusterOpens := fs.Int("cluster-opens", 2000, "cluster part: opens (each with its close) per workload and run")
	etcdDir := fs.String("etcd-dir", "", "cluster part: folder for etcd's data (default: below -dir, so tmpfs; a folder on disk adds the disk's fsync to every etcd write)")
	short := fs.Bool("short", false, "smoke run: 8 MiB, 1 run, 200 small files, 2,000 entries, 200 idle sessions (Signet) and 20 (Samba), 100 opens per cluster workload; leaves the cluster part out unless -only names it; does not write -out unless given")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *short {
		for name, v := range map[string]string{"size": "8MiB", "runs": "1", "small-files": "200", "dir-entries": "2000", "idle": "200", "samba-idle": "20", "out": "", "profile": "false", "cluster-opens": "100"} {
			if !set[name] {
				fs.Set(name, v)
			}
		}
	}
	cfg := &config{runs: *runs, smallFiles: *smallFiles, dirEntries: *dirEntries, sambaIdle: *sambaIdle,
		samba: *samba, port: *port, workRoot: *workRoot, out: *out, short: *short, profile: *profile, note: *note, parts: map[string]bool{},
		clusterClients: *clusterClients, clusterOpens: *clusterOpens, etcdDir: *etcdDir}
	var err error
	if cfg.size, err = peers.ParseSize(*size); err != nil {
		return nil, err
	}
	if cfg.runs < 1 {
		return nil, errors.New("-runs must be at least 1")
	}
	if cfg.smallClients, err = parseInts(*smallClients); err != nil {
		return nil, fmt.Errorf("-small-clients: %w", err)
	}
	if cfg.idle, err = parseInts(*idle); err != nil {
		return nil, fmt.Errorf("-idle: %w", err)
	}
	if !slices.Contains([]string{"auto", "on", "off"}, cfg.samba) {
		return nil, fmt.Errorf("-samba must be auto, on or off")
	}
	if cfg.clusterClients < 1 || cfg.clusterOpens < 1 {
		return nil, errors.New("-cluster-clients and -cluster-opens must be at least 1")
	}
	if *only == "" {
		for _, p := range allParts {
			cfg.parts[p] = true
		}
		if cfg.short {
			delete(cfg.parts, "cluster") // starts etcd and six nodes: -only cluster -short, or TestSmokeCluster
		}
	} else {
		for _, p := range strings.Split(*only, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(allParts, p) {
				return nil, fmt.Errorf("-only: unknown part %q (parts: %s)", p, strings.Join(allParts, ","))
			}
			cfg.parts[p] = true
		}
	}
	for _, c := range strings.Split(*clients, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cfg.clients = append(cfg.clients, c)
		}
	}
	cfg.cmdline = "go run ./bench"
	for _, a := range args {
		if strings.ContainsAny(a, " \t\"'$`\\;&|<>()*?") || a == "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cfg.cmdline += " " + a
	}
	return cfg, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func humanSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// defaultWorkRoot prefers /dev/shm (tmpfs), so that the disk does not
// dominate the figures: the benchmark measures the protocol and signing.
func defaultWorkRoot() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// sambaMissing says why Samba cannot be compared here, with what to
// install, or "" when it can.
func sambaMissing() string {
	var missing []string
	for _, tool := range []string{"smbd", "smbclient", "smbpasswd"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s not found; install Samba and smbclient to compare (Debian/Ubuntu: apt-get install samba smbclient; Fedora: dnf install samba samba-client)", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return "smbd here needs root (a Unix account for the benchmark user and smbd itself); run as root to compare with Samba"
	}
	return ""
}

// logf prints progress to the error stream.
type logf func(format string, a ...any)

func run(cfg *config, stdout, stderr io.Writer) error {
	log := logf(func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
	})
	root, err := peers.ModuleRoot()
	if err != nil {
		return err
	}
	withSamba := cfg.samba != "off"
	note := ""
	if withSamba {
		if why := sambaMissing(); why != "" {
			if cfg.samba == "on" {
				return errors.New(why)
			}
			note = why + "; measuring Signet alone."
			fmt.Fprintln(stderr, "bench:", note)
			withSamba = false
		}
	}
	raiseFileLimit()
	work, err := os.MkdirTemp(cfg.workRoot, "signet-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755) // smbd serves a folder below it as the benchmark user
	m := machineInfo(withSamba)
	started := time.Now().UTC()
	res := newResults()
	live := &running{servers: map[*peers.Server]bool{}}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // joined below, before run returns
		defer wg.Done()
		select {
		case sig := <-sigc:
			live.signalAll()
			os.RemoveAll(work)
			fmt.Fprintf(stderr, "bench: %v: servers stopped\n", sig)
			os.Exit(130)
		case <-done:
		}
	}()
	err = measureAll(cfg, res, work, withSamba, live, log)
	close(done)
	wg.Wait()
	signal.Stop(sigc)
	if err != nil {
		return err
	}
	m.loadAfter = loadAvg()
	if res.clusterNote != "" {
		note = strings.TrimSpace(note + " " + res.clusterNote)
	}
	section := clusterReport(cfg, res, m, started)
	clusterOnly := len(cfg.parts) == 1 && cfg.parts["cluster"]
	report := section
	if !clusterOnly {
		report = render(cfg, res, m, started, note)
		if section != "" {
			report += "\n" + section
		}
	}
	fmt.Fprint(stdout, report)
	if cfg.out != "" {
		out := cfg.out
		if !filepath.IsAbs(out) {
			out = filepath.Join(root, out)
		}
		old, _ := os.ReadFile(out)
		text := report
		switch {
		case clusterOnly:
			// The cluster section alone: the rest of the file stays.
			text = ""
			if section != "" {
				text = spliceCluster(string(old), section)
			}
		case section == "":
			// A run without the cluster part keeps the last one's section.
			if prev := clusterSection(string(old)); prev != "" {
				text += "\n" + prev
			}
		}
		if text != "" {
			if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
				return err
			}
			log("report written to %s", out)
		}
	}
	if len(res.failures) > 0 {
		return fmt.Errorf("%d measurement(s) failed (listed in the report)", len(res.failures))
	}
	return nil
}

func (cfg *config) addr(offset int) string { return fmt.Sprintf("127.0.0.1:%d", cfg.port+offset) }

// running lists the servers this program started, so that an interrupt
// can end them: smbd runs in its own process group and would not see the
// terminal's Ctrl-C. measureAll adds and removes entries; the signal
// goroutine of run reads them. Guarded by mu.
type running struct {
	mu      sync.Mutex
	servers map[*peers.Server]bool
	etcds   map[*etcdCluster]bool // the cluster part's etcd clusters
}

// addEtcd registers a started etcd cluster and returns the function that
// stops it.
func (r *running) addEtcd(e *etcdCluster) func() {
	r.mu.Lock()
	if r.etcds == nil {
		r.etcds = map[*etcdCluster]bool{}
	}
	r.etcds[e] = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.etcds, e)
		r.mu.Unlock()
		e.stop()
	}
}

// add registers a started server and returns the function that stops it.
func (r *running) add(s *peers.Server) func() {
	r.mu.Lock()
	r.servers[s] = true
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.servers, s)
		r.mu.Unlock()
		s.Stop()
	}
}

// signalAll asks every running server to end.
func (r *running) signalAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.servers {
		s.Signal()
	}
	for e := range r.etcds {
		e.signal()
	}
}

// cases is the transfer matrix the parts and -clients select.
func (cfg *config) cases() []xfer {
	var cases []xfer
	if cfg.parts["transfer"] {
		cases = append(cases, xSmbGMAC, xSmbCMAC, xSigGMAC, xSigMem, xSigCMAC, xSigHMAC, xGoSMB2)
	}
	if cfg.parts["encrypt"] {
		cases = append(cases, xSmbEnc, xSmbCCM, xSigEnc)
	}
	if len(cfg.clients) > 0 {
		cases = slices.DeleteFunc(cases, func(x xfer) bool {
			return !slices.ContainsFunc(cfg.clients, func(w string) bool { return strings.Contains(x.client, w) })
		})
	}
	return cases
}

// measureAll starts the servers and takes every measurement, runs
// outermost so that slow phases of a loaded machine spread over all cases.
func measureAll(cfg *config, res *results, work string, withSamba bool, live *running, log logf) error {
	var servers []*server
	var stops []func()
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	startSignet := func(name, dir string, o peers.Options) (*server, error) {
		s, err := peers.SignetWith(filepath.Join(work, dir), user, password, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		stops = append(stops, live.add(s))
		return &server{name: name, addr: s.Addr, share: s.Share, pids: s.PIDs}, nil
	}
	startSamba := func(dir string, addr string) (*server, error) {
		s, err := peers.SambaWith(filepath.Join(work, dir), user, password, peers.Options{Addr: addr})
		if err != nil {
			return nil, fmt.Errorf("Samba: %w", err)
		}
		stops = append(stops, live.add(s))
		return &server{name: srvSamba, addr: s.Addr, share: s.Share, pids: s.PIDs}, nil
	}
	needMain := cfg.parts["transfer"] || cfg.parts["unsigned"] || cfg.parts["encrypt"] || cfg.parts["small"] || cfg.parts["dir"]
	var unsigned *server
	if needMain {
		log("starting Signet on %s", cfg.addr(0))
		sig, err := startSignet(srvSignet, "signet", peers.Options{Addr: cfg.addr(0)})
		if err != nil {
			return err
		}
		servers = append(servers, sig)
		if withSamba {
			log("starting Samba smbd on %s", cfg.addr(2))
			sam, err := startSamba("samba", cfg.addr(2))
			if err != nil {
				return err
			}
			servers = append(servers, sam)
		}
	}
	if cfg.parts["unsigned"] {
		log("starting Signet without required signing on %s", cfg.addr(1))
		var err error
		if unsigned, err = startSignet(srvUnsigned, "signet-unsigned", peers.Options{Addr: cfg.addr(1), Unsigned: true}); err != nil {
			return err
		}
	}
	var null *server
	if cfg.parts["bound"] {
		addr := cfg.addr(4 + len(cfg.idle))
		log("starting Signet with a share that stores nothing on %s", addr)
		ns, err := startNull(addr, cfg.size)
		if err != nil {
			return fmt.Errorf("null-share server: %w", err)
		}
		stops = append(stops, live.add(ns))
		null = &server{name: srvNull, addr: ns.Addr, pids: ns.PIDs}
	}
	var p *payload
	if cfg.parts["transfer"] || cfg.parts["unsigned"] || cfg.parts["encrypt"] || cfg.parts["bound"] {
		log("writing %s of random bytes", humanSize(cfg.size))
		var err error
		if p, err = makePayload(filepath.Join(work, "payload.bin"), cfg.size); err != nil {
			return err
		}
		for _, s := range append(slices.Clone(servers), unsigned) {
			if s != nil {
				if err := p.place(s.share); err != nil {
					return err
				}
			}
		}
	}
	cases := cfg.cases()
	dirNames := map[string]string{}
	if cfg.parts["dir"] {
		for _, s := range servers {
			log("%s: creating a folder of %d entries", s.name, cfg.dirEntries)
			name, err := makeBigDir(s.share, cfg.dirEntries)
			if err != nil {
				return err
			}
			dirNames[s.name] = name
		}
	}
	for run := 1; run <= cfg.runs; run++ {
		res.loads = append(res.loads, loadAvg())
		if v, err := freshMemoryCost(); err == nil {
			res.freshMem = append(res.freshMem, v)
			log("run %d: fresh memory %.2f s/GiB", run, v)
		}
		if v, err := storeCost(work, cfg.storeProbeSize()); err == nil {
			res.storeCPU = append(res.storeCPU, v)
			log("run %d: storing %.2f s/GiB", run, v)
		} else {
			log("run %d: storing probe: %v", run, err)
		}
		if cfg.parts["ceiling"] {
			if v, err := measureCeiling(cfg.size); err != nil {
				res.fail(log, fmt.Errorf("ceiling: %w", err))
			} else {
				res.add("transfer", srvCeiling, cliCeiling, opCeiling, unitMBps, v, -1)
				log("run %d: ceiling %.0f MB/s", run, v)
			}
		}
		for _, x := range cases {
			for _, s := range servers {
				if x.kind == kindSmbclient && !withSamba {
					continue // smbclient comes with Samba
				}
				for _, op := range []string{"write", "read"} {
					measureTransfer(res, log, "transfer", run, x, s, p, op, work)
				}
			}
		}
		if unsigned != nil {
			for _, op := range []string{"write", "read"} {
				for _, c := range []struct {
					x xfer
					s *server
				}{{xSigGMAC, servers[0]}, {xSigNoSig, unsigned}} {
					measureTransfer(res, log, "transfer", run, c.x, c.s, p, op, work)
				}
			}
		}
		if null != nil {
			for _, x := range boundCases {
				if x.kind == kindSmbclient && !withSamba {
					continue // smbclient comes with Samba
				}
				x.unchecked = true // the null share's bytes are not the payload
				for _, op := range []string{"write", "read"} {
					measureTransfer(res, log, "bound", run, x, null, p, op, work)
				}
			}
		}
		if cfg.parts["small"] {
			for _, n := range cfg.smallClients {
				for _, s := range servers {
					v, err := smallFiles(s.addr, n, cfg.smallFiles, fmt.Sprintf("r%d", run))
					if err != nil {
						res.fail(log, fmt.Errorf("%s, small files: %w", s.name, err))
						continue
					}
					res.add("small", s.name, smallClient(n), opSmall, unitFilesPS, v, -1)
					log("run %d: %s, small files from %d sessions: %.0f files/s", run, s.name, n, v)
				}
			}
		}
		if cfg.parts["dir"] {
			for _, s := range servers {
				v, err := listDir(s.addr, dirNames[s.name], cfg.dirEntries)
				if err != nil {
					res.fail(log, fmt.Errorf("%s, listing: %w", s.name, err))
					continue
				}
				res.add("dir", s.name, "Signet client 3.1.1 AES-128-GMAC", dirOp(cfg.dirEntries), unitEntriesPS, v, -1)
				log("run %d: %s, listing %d entries: %.0f entries/s", run, s.name, cfg.dirEntries, v)
				if !withSamba || cfg.dirEntries < minSmbclientListing {
					continue // smbclient comes with Samba; a short listing is lost in its start-up time
				}
				v, err = listDirSmbclient(s.addr, dirNames[s.name], cfg.dirEntries)
				if err != nil {
					res.fail(log, fmt.Errorf("%s, listing with smbclient: %w", s.name, err))
					continue
				}
				res.add("dir", s.name, "smbclient 3.1.1 AES-128-GMAC (FileIdBothDirectoryInformation)", dirOp(cfg.dirEntries), unitEntriesPS, v, -1)
				log("run %d: %s, listing %d entries with smbclient: %.0f entries/s", run, s.name, cfg.dirEntries, v)
			}
		}
	}
	if cfg.profile && len(cases) > 0 {
		if err := perfUsable(); err != nil {
			res.profileNote = "Profiles skipped: " + err.Error() + "."
			log("%s", res.profileNote)
		} else {
			for _, x := range []xfer{xSmbGMAC, xSigGMAC, xSmbEnc} {
				if !slices.Contains(cases, x) {
					continue
				}
				for _, s := range servers {
					if x.kind == kindSmbclient && !withSamba {
						continue
					}
					for _, op := range []string{"write", "read"} {
						pr, err := profileTransfer(x, s, p, op, work, 12)
						if err != nil {
							res.fail(log, fmt.Errorf("profiling %s, %s %s: %w", s.name, x.client, op, err))
							continue
						}
						res.profiles = append(res.profiles, pr)
						log("profiled %s, %s %s", s.name, x.client, op)
					}
				}
			}
		}
	}
	// Stop the transfer servers before the idle part: a fresh server per
	// count, so that memory freed by earlier parts does not hide growth.
	for _, stop := range slices.Backward(stops) {
		stop()
	}
	stops = nil
	if cfg.parts["idle"] {
		for i, n := range cfg.idle {
			s, err := startSignet(srvSignet, fmt.Sprintf("signet-idle-%d", n), peers.Options{Addr: cfg.addr(3 + i), MaxConnections: n + 100})
			if err != nil {
				return err
			}
			v, err := idleSessions(s.addr, s.pids, n)
			stops[len(stops)-1]()
			stops = stops[:len(stops)-1]
			if err != nil {
				res.fail(log, fmt.Errorf("Signet, %d idle sessions: %w", n, err))
				continue
			}
			res.add("idle", srvSignet, idleClient, idleOp(n), unitKiBPerSes, v, -1)
			log("Signet, %d idle signed sessions: %.1f KiB per session", n, v)
		}
		if withSamba && cfg.sambaIdle > 0 {
			s, err := startSamba("samba-idle", cfg.addr(3+len(cfg.idle)))
			if err != nil {
				return err
			}
			v, err := idleSessions(s.addr, s.pids, cfg.sambaIdle)
			if err != nil {
				res.fail(log, fmt.Errorf("Samba, %d idle sessions: %w", cfg.sambaIdle, err))
			} else {
				res.add("idle", srvSamba, idleClient, idleOp(cfg.sambaIdle), unitKiBPerSes, v, -1)
				log("Samba, %d idle signed sessions: %.1f KiB per session", cfg.sambaIdle, v)
			}
		}
	}
	if cfg.parts["cluster"] {
		return measureCluster(cfg, res, work, p, live, log)
	}
	return nil
}

// measureTransfer moves the payload once and records the rate and the
// server's CPU per GiB in part, or the failure.
func measureTransfer(res *results, log logf, part string, run int, x xfer, s *server, p *payload, op, work string) {
	m, err := x.run(s, p, op, work)
	if err != nil {
		res.fail(log, fmt.Errorf("%s, %s %s: %w", s.name, x.client, op, err))
		return
	}
	res.add(part, s.name, x.client, op, unitMBps, m.rate, m.serverCPU)
	res.addClientCPU(s.name, x.client, op, m.clientCPU)
	log("run %d: %s, %s %s: %.0f MB/s, server CPU %.2f s/GiB, client CPU %.2f s/GiB", run, s.name, x.client, op, m.rate, m.serverCPU, m.clientCPU)
}

// machine describes where the figures were taken.
type machine struct {
	cpu, kernel, goVersion, samba string
	cores                         int
	memGiB                        float64
	loadBefore, loadAfter         string
}

func machineInfo(withSamba bool) machine {
	m := machine{cpu: "unknown CPU", kernel: "unknown kernel", goVersion: "unknown", samba: "Samba not used", loadBefore: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if mm := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); mm != nil {
			m.cpu = string(mm[1])
		}
		m.cores = len(regexp.MustCompile(`(?m)^processor\s*:`).FindAll(b, -1))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if mm := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); mm != nil {
			v, _ := strconv.ParseFloat(string(mm[1]), 64)
			m.memGiB = v / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	if withSamba {
		if out, err := exec.Command("smbd", "--version").Output(); err == nil {
			m.samba = "Samba " + strings.TrimSpace(string(out))
		}
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// render writes the Markdown report.
func render(cfg *config, res *results, m machine, started time.Time, note string) string {
	var b strings.Builder
	b.WriteString("# Performance\n\n")
	fmt.Fprintf(&b, "Produced by `%s` (bench/, issue 8), started %s UTC. This file is written by the program; what each part measures, and notes on reading past runs, are in [benchmarks.md](benchmarks.md).\n\n", cfg.cmdline, started.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %.1f GiB memory, %s, %s, %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n\n",
		m.cpu, m.cores, m.memGiB, m.kernel, m.goVersion, m.samba, m.loadBefore, m.loadAfter)
	if len(res.loads) > 0 {
		fmt.Fprintf(&b, "Load average at the start of each run: %s.\n\n", strings.Join(res.loads, "; "))
	}
	if len(res.freshMem) > 0 {
		var vs []string
		for _, v := range res.freshMem {
			vs = append(vs, fmt.Sprintf("%.2f", v))
		}
		fmt.Fprintf(&b, "Fresh memory at the start of each run: %s s/GiB (512 MiB of anonymous 4 KiB pages written once each; every write into a new file on tmpfs pays this for its pages; well above 0.2 means the host is slow to hand back pages the guest freed, which slows every write measurement of that run: see benchmarks.md).\n\n", strings.Join(vs, ", "))
	}
	if len(res.storeCPU) > 0 {
		var vs []string
		for _, v := range res.storeCPU {
			vs = append(vs, fmt.Sprintf("%.2f", v))
		}
		fmt.Fprintf(&b, "Storing at the start of each run: %s s of CPU per GiB (%d MiB written in 2 MiB pieces into a new file beside the shares by a thread doing nothing else, then deleted: what any server pays to store the data of a write, beside the protocol).\n\n", strings.Join(vs, ", "), cfg.storeProbeSize()>>20)
	}
	if l1 := maxLoad1(append([]string{m.loadBefore, m.loadAfter}, res.loads...)); m.cores > 0 && l1 >= 0.5*float64(m.cores) {
		fmt.Fprintf(&b, "**Loaded machine**: the 1-minute load average reached %.2f on %d cores while the benchmark ran; other work competed for the CPU, so absolute figures are noisy and even ratios of one run move between runs. Read the spread columns.\n\n", l1, m.cores)
	}
	if cfg.note != "" {
		fmt.Fprintf(&b, "Note: %s\n\n", cfg.note)
	}
	if note != "" {
		fmt.Fprintf(&b, "Note: %s\n\n", note)
	}
	fmt.Fprintf(&b, "Setup: every server runs as its own process on loopback and requires signing (except the one marked \"signing not required\"); shares and local files live in %s. Transfers move %s of random bytes, each copy checked by SHA-256; each figure is taken %d time(s), runs outermost, and the table gives the median and the lowest and highest run. smbclient's rates are those it prints (the transfer, without process start and logon); the Go clients' are timed from open to close. Server CPU is utime+stime from /proc/PID/stat of the server's processes (for Samba the parent smbd, the children it has reaped and the live ones), taken around each transfer including the logon, per GiB moved. Client CPU is smbclient's own (its rusage, start-up and logon included), or for the Go clients, which run inside the benchmark program, the program's (getrusage) during the transfer, the SHA-256 check left out; both include the local file's reads or writes.\n\n",
		cfg.workRoot, humanSize(cfg.size), cfg.runs)
	if t := res.table("transfer"); t != "" {
		fmt.Fprintf(&b, "## Transfers\n\n%s\n", t)
	}
	if t := res.table("bound"); t != "" {
		fmt.Fprintf(&b, "## Bounds: the same clients against a share that stores nothing\n\nSignet's server, signing (or encrypting) and verifying as above, on a share that drops the data of every WRITE and does not fetch the data of a READ (the bytes sent are whatever the response buffer held, so nothing is checked). A server cannot store and fetch the data for less than nothing, so a client's rate here is the most it reaches on this machine against a server that does no more than the protocol, the signature and the network; the ratios below divide it by Samba's rate with the same client, which is the highest Signet / Samba ratio any server could show in this run.\n\n%s\n", t)
	}
	for _, part := range []struct{ name, title string }{
		{"small", "Small files"}, {"dir", "Folder listing"}, {"idle", "Idle signed sessions (server PSS growth per session, one measurement each)"},
	} {
		if t := res.table(part.name); t != "" {
			fmt.Fprintf(&b, "## %s\n\n%s\n", part.title, t)
		}
	}
	if rs := res.ratios(); len(rs) > 0 {
		b.WriteString("## Ratios (of medians)\n\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "- %s = %s\n", r.Name, fmtRatio(r.Value))
		}
		b.WriteString("\n")
	}
	if len(res.profiles) > 0 || res.profileNote != "" {
		b.WriteString("## Where the servers' CPU goes\n\n")
		if res.profileNote != "" {
			b.WriteString(res.profileNote + "\n\n")
		}
		if len(res.profiles) > 0 {
			b.WriteString("`perf record -F 997 -p SERVER` (its threads and the children it forks) during one extra transfer each (not counted above), then `perf report --no-children --sort dso,sym`: the top symbols, as percent of the server's samples.\n\n")
		}
		for _, pr := range res.profiles {
			fmt.Fprintf(&b, "### %s, %s %s\n\nBy object: %s.\n\n", pr.Server, pr.Client, pr.Op, pr.ByObject)
			if len(pr.Kinds) > 0 {
				fmt.Fprintf(&b, "By kind of work (all symbols; server CPU %.2f s/GiB in this transfer): %s.\n\n", pr.CPU, kindsText(pr.Kinds, pr.CPU))
			}
			fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.Join(pr.Lines, "\n"))
		}
	}
	if len(res.failures) > 0 {
		b.WriteString("## Failed measurements\n\nThese were not counted; the program exits with an error.\n\n")
		for _, f := range res.failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Targets (issue 8; the last is issue 10's)\n\nThe last column is the same figure with Signet's server on the share that stores nothing (section \"Bounds\"), where that part ran: for a Signet / Samba ratio the most any server could show, for CPU per GiB what Signet costs without the file's copy.\n\n| target | wanted | this run | status | with a share that stores nothing |\n|---|---|---|---|---|\n")
	for _, t := range res.targets() {
		status := t.Status
		if t.Shortfall != "" {
			status += ": " + t.Shortfall
		}
		bound := t.Bound
		if bound == "" {
			bound = "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, status, bound)
	}
	if obs := res.obstacles(m.cores); len(obs) > 0 {
		b.WriteString("\n## What is in the way of the missed targets\n\nWorked out by the program from this run's own figures: the medians above, the client's and the server's CPU per GiB (a bound: two programs that need c and s CPU seconds per GiB cannot move more than cores / (c + s) GiB per second, nor a one-thread client more than 1 / c), the share that stores nothing, and the profiles. The kinds of work sort perf's symbols by name (`classify` in bench/profile.go); that sorting is a judgement, and a VM's perf puts time with interrupts off at the unlock that turns them back on, so that time is a kind of its own whose work (waking a task, the page allocator's locks) a flat profile cannot tell apart.\n\n")
		for _, o := range obs {
			fmt.Fprintf(&b, "- %s\n", o)
		}
	}
	return b.String()
}

// maxLoad1 is the highest 1-minute figure of /proc/loadavg texts.
func maxLoad1(loads []string) float64 {
	hi := 0.0
	for _, l := range loads {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil && v > hi {
			hi = v
		}
	}
	return hi
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}
