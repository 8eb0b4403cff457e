package main

// The cluster part (issue 15, "Scale-out figures"): opens and closes per
// second and transfers through Signet nodes without a cluster, with a
// cluster of one and of three etcd members, and three nodes on a
// three-member etcd, with what the coordination costs: the added latency
// of an open, etcd requests per open and close (from etcd's /metrics),
// and server and etcd CPU per 1000 opens (from /proc).

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signetsmb/signet/bench/internal/peers"
	"github.com/signetsmb/signet/client"
)

// clusterConf is one configuration of the cluster part.
type clusterConf struct {
	name  string
	etcd  int // etcd members; 0: no [cluster] table
	nodes int // Signet nodes
}

var clusterConfs = []clusterConf{
	{"1 node, no cluster", 0, 1},
	{"1 node, cluster of 1 etcd member", 1, 1},
	{"1 node, cluster of 3 etcd members", 3, 1},
	{"3 nodes, cluster of 3 etcd members", 3, 3},
}

// Workloads and figures of the cluster part, as named in results (the
// series' Client field is the workload, Op the figure).
const (
	wlCreate  = "create + close, distinct new files"
	wlOpen    = "open existing + close, distinct files"
	wlShared  = "open + close, one file shared by all sessions"
	wlLatency = "open existing + close, 1 session"
	wlWrite   = "write"
	wlRead    = "read"

	figRate     = "opens/s"
	figLatency  = "ms per open + close (median)"
	figMBps     = "MB/s"
	figRequests = "etcd KV requests per open + close"
	figSignet   = "Signet CPU s per 1000 opens"
	figEtcd     = "etcd CPU s per 1000 opens"
	figMethod   = "etcd requests per open + close: " // + method
)

var clusterWorkloads = []string{wlCreate, wlOpen, wlShared}

const (
	clusterBegin = "<!-- bench: cluster part, begin -->"
	clusterEnd   = "<!-- bench: cluster part, end -->"
)

// clusterSetup is one running configuration.
type clusterSetup struct {
	conf  clusterConf
	etcd  *etcdCluster // nil without a cluster; shared by setups with the same member count
	nodes []*server
	share string // the folder every node serves
}

// signetPIDs are every node's processes.
func (cs *clusterSetup) signetPIDs() []int {
	var out []int
	for _, n := range cs.nodes {
		out = append(out, n.pids()...)
	}
	return out
}

// clusterDialer is the Signet client of the open/close workloads: 3.1.1,
// AES-128-GMAC signing required, and neither leases nor durable handles,
// so that every open and close reaches the server and every
// configuration does the same work (a cluster node grants no lease).
func clusterDialer() *client.Dialer {
	d := sigDialer()
	d.NoLeases, d.NoDurable = true, true
	return d
}

// measureCluster starts the configurations and measures them, runs
// outermost. It returns without measuring (and with a note) when etcd is
// missing.
func measureCluster(cfg *config, res *results, work string, p *payload, live *running, log logf) error {
	bin := etcdBinary()
	if bin == "" {
		res.clusterNote = etcdHint + "; the cluster part was skipped."
		log("%s", res.clusterNote)
		return nil
	}
	root := filepath.Join(work, "cluster")
	signet, err := peers.BuildSignet(filepath.Join(root, "bin"))
	if err != nil {
		return err
	}
	if p == nil {
		log("writing %s of random bytes", humanSize(cfg.size))
		if p, err = makePayload(filepath.Join(work, "payload.bin"), cfg.size); err != nil {
			return err
		}
	}
	etcdRoot := root
	if cfg.etcdDir != "" {
		d, err := os.MkdirTemp(cfg.etcdDir, "signet-bench-etcd")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		etcdRoot = d
	}
	etcds := map[int]*etcdCluster{}
	var stops []func()
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	var setups []*clusterSetup
	for i, c := range clusterConfs {
		cs := &clusterSetup{conf: c, share: filepath.Join(root, fmt.Sprintf("share%d", i))}
		if err := os.MkdirAll(cs.share, 0o755); err != nil {
			return err
		}
		if c.etcd > 0 && etcds[c.etcd] == nil {
			log("starting a %d-member etcd cluster", c.etcd)
			e, err := startEtcd(bin, filepath.Join(etcdRoot, fmt.Sprintf("etcd%d", c.etcd)), c.etcd)
			if err != nil {
				return err
			}
			etcds[c.etcd] = e
			stops = append(stops, live.addEtcd(e))
		}
		cs.etcd = etcds[c.etcd]
		for n := range c.nodes {
			o := peers.Options{Bin: signet, SharePath: cs.share}
			if cs.etcd != nil {
				o.Cluster = peers.ClusterOptions{Endpoints: cs.etcd.endpoints(), Node: fmt.Sprintf("node%d", n), Prefix: fmt.Sprintf("/signet-bench-%d/", i)}
			}
			s, err := peers.SignetWith(filepath.Join(root, fmt.Sprintf("conf%d-node%d", i, n)), user, password, o)
			if err != nil {
				return fmt.Errorf("%s, node %d: %w", c.name, n, err)
			}
			stops = append(stops, live.add(s))
			cs.nodes = append(cs.nodes, &server{name: fmt.Sprintf("%s, node %d", c.name, n), addr: s.Addr, share: cs.share, pids: s.PIDs})
		}
		log("%s: %d Signet node(s) started", c.name, c.nodes)
		if err := p.place(cs.share); err != nil {
			return err
		}
		setups = append(setups, cs)
	}
	for run := 1; run <= cfg.runs; run++ {
		res.clusterLoads = append(res.clusterLoads, loadAvg())
		for _, cs := range setups {
			if err := cs.measureOpens(cfg, res, run, log); err != nil {
				res.fail(log, fmt.Errorf("cluster, %s: %w", cs.conf.name, err))
			}
			for i, op := range []string{"write", "read"} {
				// Written through one node, read through the next.
				node := cs.nodes[(run-1+i)%len(cs.nodes)]
				m, err := xSigGMAC.run(node, p, op, work)
				v, cpu := m.rate, m.serverCPU
				if err != nil {
					res.fail(log, fmt.Errorf("cluster, %s, %s %s: %w", node.name, xSigGMAC.client, op, err))
					continue
				}
				res.add("cluster", cs.conf.name, op, figMBps, unitMBps, v, cpu)
				log("run %d: %s, %s %s through node %d: %.0f MB/s, node CPU %.2f s/GiB", run, cs.conf.name, humanSize(p.size), op, slices.Index(cs.nodes, node), v, cpu)
			}
		}
	}
	res.clusterMeasured = true
	return nil
}

// measureOpens takes one run's open/close figures of a configuration.
func (cs *clusterSetup) measureOpens(cfg *config, res *results, run int, log logf) error {
	ctx := context.Background()
	var sessions []*client.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	shares := make([]*client.Share, cfg.clusterClients)
	for i := range shares {
		s, err := clusterDialer().Dial(ctx, cs.nodes[i%len(cs.nodes)].addr)
		if err != nil {
			return err
		}
		sessions = append(sessions, s)
		if !s.Signed() {
			return fmt.Errorf("session not signed")
		}
		if shares[i], err = s.Mount(ctx, "share"); err != nil {
			return err
		}
	}
	n := cfg.clusterOpens
	prefix := fmt.Sprintf("r%d", run)
	name := func(c, i int) string { return fmt.Sprintf("%s-c%d-%d.txt", prefix, c, i) }
	defer func() { // the files are not part of any measurement
		for i := range n {
			os.Remove(filepath.Join(cs.share, name(i%len(shares), i)))
		}
	}()
	shared := prefix + "-shared.txt"
	if err := os.WriteFile(filepath.Join(cs.share, shared), []byte("shared"), 0o644); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(cs.share, shared))
	work := map[string]func(sh *client.Share, c, i int) error{
		wlCreate: func(sh *client.Share, c, i int) error {
			f, err := sh.OpenFile(name(c, i), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		},
		wlOpen: func(sh *client.Share, c, i int) error {
			f, err := sh.OpenFile(name(c, i), os.O_RDONLY, 0)
			if err != nil {
				return err
			}
			return f.Close()
		},
		wlShared: func(sh *client.Share, c, i int) error {
			f, err := sh.OpenFile(shared, os.O_RDONLY, 0)
			if err != nil {
				return err
			}
			return f.Close()
		},
	}
	for _, wl := range clusterWorkloads {
		rate, cost, err := cs.costOf(func() (int, error) { return runSpread(shares, n, work[wl]) })
		if err != nil {
			return fmt.Errorf("%s: %w", wl, err)
		}
		res.add("cluster", cs.conf.name, wl, figRate, figRate, rate, -1)
		cost.record(res, cs.conf.name, wl)
		log("run %d: %s, %s from %d sessions: %.0f opens/s%s", run, cs.conf.name, wl, len(shares), rate, cost)
	}
	// Latency: one session, one open and close at a time, through each
	// node in turn.
	lat := make([]float64, 0, n)
	for i := range n {
		c := i % len(shares) // session c created file i; it is on node c % nodes
		t0 := time.Now()
		if err := work[wlOpen](shares[c], c, i); err != nil {
			return fmt.Errorf("%s: %w", wlLatency, err)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
	}
	res.add("cluster", cs.conf.name, wlLatency, figLatency, "ms", median(lat), -1)
	log("run %d: %s, %s: %.2f ms", run, cs.conf.name, wlLatency, median(lat))
	return nil
}

// runSpread runs n operations spread over the sessions at once (session c
// takes its share of the indexes) and returns how many ran.
func runSpread(shares []*client.Share, n int, op func(sh *client.Share, c, i int) error) (int, error) {
	errs := make([]error, len(shares))
	var wg sync.WaitGroup
	for c := range shares {
		wg.Add(1)
		go func() { // joined by wg.Wait below
			defer wg.Done()
			for i := c; i < n; i += len(shares) {
				if err := op(shares[c], c, i); err != nil {
					errs[c] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// opCost is what a batch of opens cost the configuration.
type opCost struct {
	clustered          bool
	requests           float64            // etcd KV requests per open + close
	methods            map[string]float64 // the same by method
	signetCPU, etcdCPU float64            // CPU s per 1000 opens
}

func (c opCost) String() string {
	s := fmt.Sprintf(", Signet CPU %.2f s per 1000", c.signetCPU)
	if c.clustered {
		s += fmt.Sprintf(", etcd CPU %.2f s per 1000, %.2f etcd requests each", c.etcdCPU, c.requests)
	}
	return s
}

func (c opCost) record(res *results, conf, wl string) {
	res.add("cluster", conf, wl, figSignet, "s", c.signetCPU, -1)
	if !c.clustered {
		return
	}
	res.add("cluster", conf, wl, figEtcd, "s", c.etcdCPU, -1)
	res.add("cluster", conf, wl, figRequests, "requests", c.requests, -1)
	for m, v := range c.methods {
		res.add("cluster", conf, wl, figMethod+m, "requests", v, -1)
	}
}

// costOf runs fn (which returns the number of opens it made) and returns
// opens per second and what they cost.
func (cs *clusterSetup) costOf(fn func() (int, error)) (float64, opCost, error) {
	c := opCost{clustered: cs.etcd != nil}
	var before map[string]float64
	var etcdBefore float64
	if c.clustered {
		var err error
		if before, err = cs.etcd.kvRequests(); err != nil {
			return 0, c, err
		}
		etcdBefore = serverCPU(cs.etcd.pids())
	}
	sigBefore := serverCPU(cs.signetPIDs())
	t0 := time.Now()
	n, err := fn()
	el := time.Since(t0)
	if err != nil {
		return 0, c, err
	}
	c.signetCPU = (serverCPU(cs.signetPIDs()) - sigBefore) * 1000 / float64(n)
	if c.clustered {
		c.etcdCPU = (serverCPU(cs.etcd.pids()) - etcdBefore) * 1000 / float64(n)
		after, err := cs.etcd.kvRequests()
		if err != nil {
			return 0, c, err
		}
		c.methods = map[string]float64{}
		for m, v := range after {
			if d := v - before[m]; d > 0 {
				c.methods[m] = d / float64(n)
				c.requests += d / float64(n)
			}
		}
	}
	return float64(n) / el.Seconds(), c, nil
}

// clusterReport renders the cluster part as a Markdown section between
// the markers, for PERFORMANCE.md; "" when the part did not measure.
func clusterReport(cfg *config, res *results, m machine, started time.Time) string {
	if !res.clusterMeasured {
		return ""
	}
	var b strings.Builder
	b.WriteString(clusterBegin + "\n")
	b.WriteString("## Scale-out: Signet nodes over etcd (issue 15)\n\n")
	fmt.Fprintf(&b, "Produced by `%s` (bench/cluster.go), started %s UTC; `go run ./bench -only cluster` rewrites this section alone and keeps the rest of this file, a run without the cluster part keeps this section.\n\n", cfg.cmdline, started.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %.1f GiB memory, %s, %s, %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n\n",
		m.cpu, m.cores, m.memGiB, m.kernel, m.goVersion, etcdVersion(), m.loadBefore, m.loadAfter)
	if len(res.clusterLoads) > 0 {
		fmt.Fprintf(&b, "Load average at the start of each run: %s.\n\n", strings.Join(res.clusterLoads, "; "))
	}
	if l1 := maxLoad1(append([]string{m.loadBefore, m.loadAfter}, res.clusterLoads...)); m.cores > 0 && l1 >= 0.5*float64(m.cores) {
		fmt.Fprintf(&b, "**Loaded machine**: the 1-minute load average reached %.2f on %d cores while the benchmark ran; other work competed for the CPU, so absolute figures are noisy. Read the spreads, and compare configurations within this run.\n\n", l1, m.cores)
	}
	if cfg.note != "" {
		fmt.Fprintf(&b, "Note: %s\n\n", cfg.note)
	}
	etcdWhere := "with their data in the same folder, so on tmpfs a WAL fsync costs nothing (on a disk it adds the disk's fsync latency to every write transaction; `-etcd-dir` puts the data elsewhere)"
	if cfg.etcdDir != "" {
		etcdWhere = fmt.Sprintf("with their data in %s (`-etcd-dir`)", cfg.etcdDir)
	}
	fmt.Fprintf(&b, "Setup: Signet nodes (`signet serve`, signing required) on loopback, all nodes of a configuration serving one folder in %s; etcd members (Debian's etcd, default heartbeat and election timeouts) on loopback %s. "+
		"%d Signet-client sessions (3.1.1, AES-128-GMAC, no leases or durable handles so that every open and close reaches a server) work at once, spread round-robin over the nodes; each workload makes %d opens, each followed by its close. "+
		"The latency row is one session making the same number of opens of existing files one at a time, through each node in turn. "+
		"Transfers: the Signet client writes %s (SHA-256 checked) through one node and reads it through the next (on one node: the same node). "+
		"Each figure is taken %d time(s), runs outermost over all configurations, the tables give the median and the lowest and highest run. "+
		"etcd requests are the KV requests (grpc_server_handled_total, service etcdserverpb.KV) of all members from their /metrics, taken around each workload; CPU is utime+stime from /proc of all Signet nodes, and of all etcd members, around each workload.\n\n",
		cfg.workRoot, etcdWhere, cfg.clusterClients, cfg.clusterOpens, humanSize(cfg.size), cfg.runs)

	cell := func(conf, wl, fig string) string {
		s := res.byKey[seriesKey(conf, wl, fig)]
		if s == nil {
			return "-"
		}
		v := median(s.Values)
		lo, hi, _ := spread(s.Values)
		if fmtVal(lo) == fmtVal(hi) {
			return fmtVal(v)
		}
		return fmt.Sprintf("%s (%s - %s)", fmtVal(v), fmtVal(lo), fmtVal(hi))
	}
	med := func(conf, wl, fig string) float64 { return res.med(conf, wl, fig) }

	b.WriteString("### Opens and closes per second\n\n")
	fmt.Fprintf(&b, "Opens (each with its close) per second from %d sessions at once; median (lowest - highest).\n\n", cfg.clusterClients)
	b.WriteString("| configuration | " + strings.Join(clusterWorkloads, " | ") + " |\n|---|" + strings.Repeat("---|", len(clusterWorkloads)) + "\n")
	for _, c := range clusterConfs {
		b.WriteString("| " + c.name + " |")
		for _, wl := range clusterWorkloads {
			b.WriteString(" " + cell(c.name, wl, figRate) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n### Transfers of %s\n\n", humanSize(cfg.size))
	b.WriteString("| configuration | write MB/s | read MB/s | node CPU s/GiB, write | node CPU s/GiB, read |\n|---|---|---|---|---|\n")
	for _, c := range clusterConfs {
		cpu := func(op string) string {
			if v := res.cpu(c.name, op, figMBps); !math.IsNaN(v) {
				return fmt.Sprintf("%.2f", v)
			}
			return "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.name, cell(c.name, wlWrite, figMBps), cell(c.name, wlRead, figMBps), cpu(wlWrite), cpu(wlRead))
	}
	b.WriteString("\n### Coordination cost\n\n")
	b.WriteString("Latency: one session, one open of an existing file and its close at a time. The other columns per workload of the opens table: etcd KV requests per open and close (by method), and CPU seconds per 1000 opens (with their closes) of all Signet nodes together and of all etcd members together; with the sessions spread evenly over the nodes, the Signet figure is also each node's CPU per 1000 opens it served.\n\n")
	b.WriteString("| configuration | latency, ms per open + close | added by the cluster, ms |\n|---|---|---|\n")
	base := med(clusterConfs[0].name, wlLatency, figLatency)
	for _, c := range clusterConfs {
		added := "-"
		if c.etcd > 0 {
			added = fmtVal(med(c.name, wlLatency, figLatency) - base)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.name, cell(c.name, wlLatency, figLatency), added)
	}
	b.WriteString("\n| configuration | workload | etcd requests per open + close | Signet CPU s per 1000 opens | etcd CPU s per 1000 opens |\n|---|---|---|---|---|\n")
	for _, c := range clusterConfs {
		for _, wl := range clusterWorkloads {
			req := cell(c.name, wl, figRequests)
			if c.etcd > 0 {
				var parts []string
				for _, meth := range []string{"Range", "Txn", "DeleteRange", "Put"} {
					if v := med(c.name, wl, figMethod+meth); !math.IsNaN(v) && v >= 0.005 {
						parts = append(parts, fmt.Sprintf("%s %.2f", meth, v))
					}
				}
				if len(parts) > 0 {
					req += " (" + strings.Join(parts, ", ") + ")"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.name, wl, req, cell(c.name, wl, figSignet), cell(c.name, wl, figEtcd))
		}
	}
	b.WriteString("\n### How the cost grows\n\n")
	b.WriteString("Ratios of medians, the second configuration over the first; for opens/s, etcd requests and CPU per open: create, open existing, shared file; for transfers: write, read.\n\n")
	b.WriteString("| step | opens/s | latency | etcd requests per open | Signet CPU per open | etcd CPU per open | MB/s |\n|---|---|---|---|---|---|---|\n")
	for _, g := range clusterGrowth(res) {
		fmt.Fprintf(&b, "| %s |", g.step)
		for _, col := range g.cols {
			var vs []string
			for _, v := range col {
				vs = append(vs, fmtRatio(v))
			}
			fmt.Fprintf(&b, " %s |", strings.Join(vs, ", "))
		}
		b.WriteString("\n")
	}
	var failed []string
	for _, f := range res.failures {
		if strings.HasPrefix(f, "cluster") {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n### Failed measurements\n\nThese were not counted; the program exits with an error.\n\n")
		for _, f := range failed {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	b.WriteString("\n" + clusterEnd + "\n")
	return b.String()
}

// growth is how the figures change from one configuration to another:
// per column, the ratios (second over first) of the workloads' medians.
type growth struct {
	step string
	cols [6][]float64 // opens/s, latency, etcd requests, Signet CPU, etcd CPU, MB/s
}

// clusterGrowth compares a cluster with none (one node, one etcd
// member), three etcd members with one (one node), and three nodes with
// one (three etcd members).
func clusterGrowth(res *results) []growth {
	c := clusterConfs
	steps := []struct {
		name string
		a, b clusterConf
	}{
		{"1 node: no cluster -> cluster of 1 etcd member", c[0], c[1]},
		{"1 node: 1 etcd member -> 3", c[1], c[2]},
		{"3 etcd members: 1 node -> 3 nodes", c[2], c[3]},
	}
	var out []growth
	for _, st := range steps {
		g := growth{step: st.name}
		q := func(wl, fig string) float64 { return res.med(st.b.name, wl, fig) / res.med(st.a.name, wl, fig) }
		for _, wl := range clusterWorkloads {
			g.cols[0] = append(g.cols[0], q(wl, figRate))
			g.cols[2] = append(g.cols[2], q(wl, figRequests))
			g.cols[3] = append(g.cols[3], q(wl, figSignet))
			g.cols[4] = append(g.cols[4], q(wl, figEtcd))
		}
		g.cols[1] = []float64{q(wlLatency, figLatency)}
		g.cols[5] = []float64{q(wlWrite, figMBps), q(wlRead, figMBps)}
		out = append(out, g)
	}
	return out
}

// etcdVersion is the first line of `etcd --version`.
func etcdVersion() string {
	bin := etcdBinary()
	if bin == "" {
		return "etcd not found"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "etcd (version unknown)"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// spliceCluster puts the cluster section into a report file's text: in
// place of an earlier one, else at the end.
func spliceCluster(old, section string) string {
	if old == "" {
		return "# Performance\n\n" + section
	}
	if i := strings.Index(old, clusterBegin); i >= 0 {
		if j := strings.Index(old[i:], clusterEnd); j >= 0 {
			rest := strings.TrimPrefix(old[i+j+len(clusterEnd):], "\n")
			return old[:i] + section + rest
		}
	}
	return strings.TrimRight(old, "\n") + "\n\n" + section
}

// clusterSection returns the cluster section of a report file's text, or
// "".
func clusterSection(text string) string {
	i := strings.Index(text, clusterBegin)
	if i < 0 {
		return ""
	}
	j := strings.Index(text[i:], clusterEnd)
	if j < 0 {
		return ""
	}
	return text[i:i+j+len(clusterEnd)] + "\n"
}
