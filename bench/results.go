package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Server names used in results, ratios and targets.
const (
	srvSignet   = "Signet"
	srvUnsigned = "Signet, signing not required"
	srvSamba    = "Samba smbd"
	srvCeiling  = "TCP loopback"
)

// series is one measured quantity, taken once per run. Values are in
// Unit; CPU (transfers only) is the server's CPU seconds per GiB moved,
// one per run.
type series struct {
	Part, Server, Client, Op, Unit string
	Values                         []float64
	CPU                            []float64
	ClientCPU                      []float64 // the client's CPU seconds per GiB, one per run (transfers)
}

func (s *series) key() string { return seriesKey(s.Server, s.Client, s.Op) }

func seriesKey(server, client, op string) string { return server + "|" + client + "|" + op }

// results collects series in the order they were first added.
// It is used by one goroutine (the benchmark's main loop).
type results struct {
	order       []*series
	byKey       map[string]*series
	profiles    []*profile
	profileNote string
	loads       []string  // /proc/loadavg (1, 5, 15 min) at the start of each run
	freshMem    []float64 // freshMemoryCost at the start of each run, s/GiB
	storeCPU    []float64 // storeCost in the shares' file system at the start of each run, s/GiB
	failures    []string  // measurements that failed (the run goes on without them)

	clusterMeasured bool     // the cluster part ran (bench/cluster.go)
	clusterNote     string   // why the cluster part did not run
	clusterLoads    []string // /proc/loadavg at the start of each run of the cluster part
}

// fail records a failed measurement; the benchmark goes on with the
// others and exits with an error at the end.
func (r *results) fail(log logf, err error) {
	r.failures = append(r.failures, strings.ReplaceAll(err.Error(), "\n", " "))
	log("FAILED: %v", err)
}

func newResults() *results { return &results{byKey: map[string]*series{}} }

// add records one run's value (and, when cpu >= 0, the server CPU per GiB).
func (r *results) add(part, server, client, op, unit string, v, cpu float64) {
	k := seriesKey(server, client, op)
	s := r.byKey[k]
	if s == nil {
		s = &series{Part: part, Server: server, Client: client, Op: op, Unit: unit}
		r.byKey[k] = s
		r.order = append(r.order, s)
	}
	s.Values = append(s.Values, v)
	if cpu >= 0 {
		s.CPU = append(s.CPU, cpu)
	}
}

// addClientCPU records one run's client CPU per GiB for a series added
// before.
func (r *results) addClientCPU(server, client, op string, v float64) {
	if s := r.byKey[seriesKey(server, client, op)]; s != nil {
		s.ClientCPU = append(s.ClientCPU, v)
	}
}

// median returns the median of xs (NaN for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread returns the lowest and highest value and (max-min)/median, the
// relative spread (0 for one value).
func spread(xs []float64) (lo, hi, rel float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = slices.Min(xs), slices.Max(xs)
	if m := median(xs); m != 0 {
		rel = (hi - lo) / m
	}
	return lo, hi, rel
}

// med returns the median of a series' values, or NaN when absent.
func (r *results) med(server, client, op string) float64 {
	if s := r.byKey[seriesKey(server, client, op)]; s != nil {
		return median(s.Values)
	}
	return math.NaN()
}

// cpu returns the median server CPU seconds per GiB of a series.
func (r *results) cpu(server, client, op string) float64 {
	if s := r.byKey[seriesKey(server, client, op)]; s != nil {
		return median(s.CPU)
	}
	return math.NaN()
}

// clientCPU returns the median client CPU seconds per GiB of a series.
func (r *results) clientCPU(server, client, op string) float64 {
	if s := r.byKey[seriesKey(server, client, op)]; s != nil {
		return median(s.ClientCPU)
	}
	return math.NaN()
}

// ratio is a named quotient of two medians.
type ratio struct {
	Name  string
	Value float64 // NaN when either side was not measured
}

// Clients as named in results.
const (
	cliSmbGMAC    = "smbclient 3.1.1 AES-128-GMAC"
	cliSmbCMAC    = "smbclient 3.0.2 AES-128-CMAC"
	cliSigGMAC    = "Signet client 3.1.1 AES-128-GMAC"
	cliSigMem     = "Signet client 3.1.1 AES-128-GMAC, memory to memory"
	cliSigCMAC    = "Signet client 3.0.2 AES-128-CMAC"
	cliSigHMAC    = "Signet client 3.1.1 HMAC-SHA256"
	cliGoSMB2     = "go-smb2 3.0.2 AES-128-CMAC"
	cliSmbEnc     = "smbclient 3.1.1 AES-128-GCM encrypted"
	cliSmbCCM     = "smbclient 3.0.2 AES-128-CCM encrypted"
	cliSigEnc     = "Signet client 3.1.1 AES-128-GCM encrypted"
	cliSigNoSign  = "Signet client 3.1.1 unsigned"
	cliCeiling    = "Go sender and receiver, two processes"
	opCeiling     = "copy"
	unitMBps      = "MB/s"
	unitFilesPS   = "files/s"
	unitEntriesPS = "entries/s"
	unitKiBPerSes = "KiB/session"
)

var transferClients = []string{cliSmbGMAC, cliSmbCMAC, cliSigGMAC, cliSigMem, cliSigCMAC, cliSigHMAC, cliGoSMB2, cliSmbEnc, cliSmbCCM, cliSigEnc}

// ratios lists the quotients the benchmark prints: Signet/Samba for every
// client and operation measured against both, Signet/ceiling, signed over
// unsigned, and Signet/Samba server CPU per GiB.
func (r *results) ratios() []ratio {
	var out []ratio
	ceiling := r.med(srvCeiling, cliCeiling, opCeiling)
	for _, s := range r.order {
		if s.Server != srvSignet {
			continue
		}
		if sam := r.med(srvSamba, s.Client, s.Op); !math.IsNaN(sam) {
			name := fmt.Sprintf("%s %s: Signet / Samba", s.Client, s.Op)
			if s.Unit == unitKiBPerSes {
				name += " (memory; lower is better)"
			}
			out = append(out, ratio{name, median(s.Values) / sam})
		}
	}
	for _, s := range r.order {
		if s.Server == srvSignet && s.Unit == unitMBps && !math.IsNaN(ceiling) && strings.HasPrefix(s.Client, "Signet client") {
			out = append(out, ratio{fmt.Sprintf("%s %s: Signet / TCP ceiling", s.Client, s.Op), median(s.Values) / ceiling})
		}
	}
	for _, s := range r.order {
		if s.Server != srvNull {
			continue
		}
		if sam := r.med(srvSamba, s.Client, s.Op); !math.IsNaN(sam) {
			out = append(out, ratio{fmt.Sprintf("%s %s: null share / Samba (the most any server could show)", s.Client, s.Op), median(s.Values) / sam})
		}
		if sig := r.med(srvSignet, s.Client, s.Op); !math.IsNaN(sig) {
			out = append(out, ratio{fmt.Sprintf("%s %s: Signet / null share (how much of that Signet reaches)", s.Client, s.Op), sig / median(s.Values)})
		}
		if !math.IsNaN(ceiling) && strings.HasPrefix(s.Client, "Signet client") {
			out = append(out, ratio{fmt.Sprintf("%s %s: null share / TCP ceiling", s.Client, s.Op), median(s.Values) / ceiling})
		}
		if sam := r.cpu(srvSamba, s.Client, s.Op); len(s.CPU) > 0 && !math.IsNaN(sam) && sam > 0 {
			out = append(out, ratio{fmt.Sprintf("%s %s: server CPU per GiB, null share / Samba (lower is better)", s.Client, s.Op), median(s.CPU) / sam})
		}
	}
	for _, op := range []string{"read", "write"} {
		if u := r.med(srvUnsigned, cliSigNoSign, op); !math.IsNaN(u) {
			out = append(out, ratio{fmt.Sprintf("Signet %s: signed (GMAC) / unsigned, Signet client", op), r.med(srvSignet, cliSigGMAC, op) / u})
		}
	}
	for _, s := range r.order {
		if s.Server != srvSignet || len(s.CPU) == 0 {
			continue
		}
		if sam := r.cpu(srvSamba, s.Client, s.Op); !math.IsNaN(sam) && sam > 0 {
			out = append(out, ratio{fmt.Sprintf("%s %s: server CPU per GiB, Signet / Samba (lower is better)", s.Client, s.Op), median(s.CPU) / sam})
		}
	}
	return out
}

// target is one of issue 8's (and issue 10's) requirements, evaluated.
type target struct {
	ID        string // "1a", "2m", "6", "10" (issue 10's), ...
	Name      string
	Want      string
	Got       string
	Status    string // "met", "missed", "not measured"
	Shortfall string // for missed: by how much
	// Bound is what the null share (bound part) gave for the same
	// figure, where that part ran: the best any server could have shown.
	Bound string
}

// check compares got against the bound want (atLeast: got >= want, else
// got <= want) and fills Status and Shortfall.
func check(t *target, got, want float64, atLeast bool, format string) {
	if math.IsNaN(got) {
		t.Status, t.Got = "not measured", "-"
		return
	}
	t.Got = fmt.Sprintf(format, got)
	ok := got >= want
	if !atLeast {
		ok = got <= want
	}
	if ok {
		t.Status = "met"
		return
	}
	t.Status = "missed"
	if atLeast {
		t.Shortfall = fmt.Sprintf("%.0f%% short (needs %.2fx the present figure)", (1-got/want)*100, want/got)
	} else {
		t.Shortfall = fmt.Sprintf("%.0f%% over (needs %.2fx the present figure)", (got/want-1)*100, want/got)
	}
}

// targets evaluates the issue-8 targets (and issue 10's encrypted one).
// A target made of several figures reports its worst one.
func (r *results) targets() []target {
	type part struct {
		label string
		v     float64
	}
	worst := func(ps []part, atLeast bool) (float64, string) {
		w, label := math.NaN(), ""
		for _, p := range ps {
			if math.IsNaN(p.v) {
				return math.NaN(), ""
			}
			if math.IsNaN(w) || (atLeast && p.v < w) || (!atLeast && p.v > w) {
				w, label = p.v, p.label
			}
		}
		return w, label
	}
	vsSamba := func(client, op string) float64 { return r.med(srvSignet, client, op) / r.med(srvSamba, client, op) }
	var out []target
	add := func(name, want string, ps []part, bound float64, atLeast bool, format string) {
		t := target{ID: strings.TrimSuffix(strings.Fields(name)[0], "."), Name: name, Want: want}
		if strings.HasPrefix(name, "issue 10") {
			t.ID = "10"
		}
		v, label := worst(ps, atLeast)
		check(&t, v, bound, atLeast, format)
		if label != "" && len(ps) > 1 {
			t.Got += " (" + label + ")"
		}
		out = append(out, t)
	}
	// reach adds to the last target what the null share gave for the
	// same parts, and whether that already misses the target.
	reach := func(ps []part, want float64, atLeast bool, format string) {
		t := &out[len(out)-1]
		var texts []string
		short := false
		for _, p := range ps {
			if math.IsNaN(p.v) {
				return
			}
			texts = append(texts, p.label+" "+fmt.Sprintf(format, p.v))
			if (atLeast && p.v < want) || (!atLeast && p.v > want) {
				short = true
			}
		}
		t.Bound = strings.Join(texts, ", ")
		if short {
			t.Bound += "; out of reach in this run"
		}
	}
	nullVsSamba := func(client, op string) float64 { return r.med(srvNull, client, op) / r.med(srvSamba, client, op) }
	add("1a. smbclient 3.1.1/GMAC 1 GiB read and write, Signet / Samba", ">= 1.5x each",
		[]part{{"read", vsSamba(cliSmbGMAC, "read")}, {"write", vsSamba(cliSmbGMAC, "write")}}, 1.5, true, "%.2fx")
	reach([]part{{"read", nullVsSamba(cliSmbGMAC, "read")}, {"write", nullVsSamba(cliSmbGMAC, "write")}}, 1.5, true, "%.2fx")
	add("1b. smbclient 3.0.2/CMAC read and write, Signet / Samba", ">= 1.1x each",
		[]part{{"read", vsSamba(cliSmbCMAC, "read")}, {"write", vsSamba(cliSmbCMAC, "write")}}, 1.1, true, "%.2fx")
	add("1c. Signet client CMAC against Signet / smbclient CMAC against Samba", ">= 1.5x each",
		[]part{{"read", r.med(srvSignet, cliSigCMAC, "read") / r.med(srvSamba, cliSmbCMAC, "read")},
			{"write", r.med(srvSignet, cliSigCMAC, "write") / r.med(srvSamba, cliSmbCMAC, "write")}}, 1.5, true, "%.2fx")
	ceiling := r.med(srvCeiling, cliCeiling, opCeiling)
	add("2. Signet client against Signet, 3.1.1/GMAC read and write / raw TCP ceiling", ">= 0.7x each",
		[]part{{"read", r.med(srvSignet, cliSigGMAC, "read") / ceiling}, {"write", r.med(srvSignet, cliSigGMAC, "write") / ceiling}}, 0.7, true, "%.2fx")
	add("2m. as 2, the Signet client moving the data from and into memory (the ceiling's shape; for reference)", ">= 0.7x each",
		[]part{{"read", r.med(srvSignet, cliSigMem, "read") / ceiling}, {"write", r.med(srvSignet, cliSigMem, "write") / ceiling}}, 0.7, true, "%.2fx")
	reach([]part{{"read", r.med(srvNull, cliSigMem, "read") / ceiling}, {"write", r.med(srvNull, cliSigMem, "write") / ceiling}}, 0.7, true, "%.2fx")
	add("3. Signet signed (GMAC) / unsigned, same client", ">= 0.95x",
		[]part{{"read", r.med(srvSignet, cliSigGMAC, "read") / r.med(srvUnsigned, cliSigNoSign, "read")},
			{"write", r.med(srvSignet, cliSigGMAC, "write") / r.med(srvUnsigned, cliSigNoSign, "write")}}, 0.95, true, "%.2fx")
	add("4. small files from 8 clients, Signet / Samba", ">= 1.5x",
		[]part{{"8 clients", vsSamba(smallClient(8), opSmall)}}, 1.5, true, "%.2fx")
	add("5. Signet server memory (PSS) per idle signed session at 10,000 sessions", "<= 32 KiB",
		[]part{{"10000", r.med(srvSignet, idleClient, idleOp(10000))}}, 32, false, "%.1f KiB")
	add("6. server CPU per GiB moved with signing (smbclient 3.1.1/GMAC), Signet / Samba", "<= 0.6x",
		[]part{{"read", r.cpu(srvSignet, cliSmbGMAC, "read") / r.cpu(srvSamba, cliSmbGMAC, "read")},
			{"write", r.cpu(srvSignet, cliSmbGMAC, "write") / r.cpu(srvSamba, cliSmbGMAC, "write")}}, 0.6, false, "%.2fx")
	reach([]part{{"read", r.cpu(srvNull, cliSmbGMAC, "read") / r.cpu(srvSamba, cliSmbGMAC, "read")},
		{"write", r.cpu(srvNull, cliSmbGMAC, "write") / r.cpu(srvSamba, cliSmbGMAC, "write")}}, 0.6, false, "%.2fx")
	add("issue 10: encrypted smbclient 3.1.1/AES-128-GCM read and write, Signet / Samba", ">= 1.5x each",
		[]part{{"read", vsSamba(cliSmbEnc, "read")}, {"write", vsSamba(cliSmbEnc, "write")}}, 1.5, true, "%.2fx")
	reach([]part{{"read", nullVsSamba(cliSmbEnc, "read")}, {"write", nullVsSamba(cliSmbEnc, "write")}}, 1.5, true, "%.2fx")
	return out
}

const (
	opSmall    = "create, write 4 KiB, close, stat, delete"
	idleClient = "Signet client 3.1.1 AES-128-GMAC, one connection each"
)

func smallClient(n int) string {
	if n == 1 {
		return "Signet client, 1 session"
	}
	return fmt.Sprintf("Signet client, %d sessions at once", n)
}

func idleOp(n int) string { return fmt.Sprintf("%d idle signed sessions", n) }
func dirOp(n int) string  { return fmt.Sprintf("list a folder of %d entries", n) }
func fmtVal(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// table renders the series of one part as a Markdown table: median, lowest
// and highest value, and for transfers the server CPU per GiB.
func (r *results) table(part string) string {
	var b strings.Builder
	withCPU := false
	for _, s := range r.order {
		if s.Part == part && len(s.CPU) > 0 {
			withCPU = true
		}
	}
	b.WriteString("| server | client | operation | median | unit | min - max | runs |")
	if withCPU {
		b.WriteString(" server CPU s/GiB (median) | client CPU s/GiB (median) |")
	}
	b.WriteString("\n|---|---|---|---|---|---|---|")
	if withCPU {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	n := 0
	for _, s := range r.order {
		if s.Part != part {
			continue
		}
		n++
		lo, hi, _ := spread(s.Values)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s - %s | %d |", s.Server, s.Client, s.Op, fmtVal(median(s.Values)), s.Unit, fmtVal(lo), fmtVal(hi), len(s.Values))
		if withCPU {
			c, cc := "-", "-"
			if len(s.CPU) > 0 {
				c = fmt.Sprintf("%.2f", median(s.CPU))
			}
			if len(s.ClientCPU) > 0 {
				cc = fmt.Sprintf("%.2f", median(s.ClientCPU))
			}
			fmt.Fprintf(&b, " %s | %s |", c, cc)
		}
		b.WriteString("\n")
	}
	if n == 0 {
		return ""
	}
	return b.String()
}
