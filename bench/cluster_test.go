package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestSmokeCluster runs the cluster part with tiny counts: a one- and a
// three-member etcd cluster, six Signet nodes, every workload and
// transfer of every configuration; the section has a figure for each,
// the cluster configurations made etcd requests for their opens and the
// one without a cluster none, and the section is spliced into an
// existing report file without touching the rest. Seconds; it builds
// cmd/signet, so it is left out of -short.
func TestSmokeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts Signet nodes and etcd")
	}
	if etcdBinary() == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(etcdHint)
		}
		t.Skip(etcdHint)
	}
	out := filepath.Join(t.TempDir(), "PERFORMANCE.md")
	if err := os.WriteFile(out, []byte("# Performance\n\nthe other parts' figures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-only", "cluster", "-short", "-samba", "off", "-size", "1MiB",
		"-cluster-opens", "30", "-cluster-clients", "3", "-dir", t.TempDir(), "-out", out})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, log bytes.Buffer
	if err := run(cfg, &stdout, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	report := stdout.String()
	num := `[0-9][0-9.]*`
	for _, c := range clusterConfs {
		for _, re := range []string{
			`\| ` + regexp.QuoteMeta(c.name) + ` \| ` + num + ` \| ` + num + ` \| ` + num + ` \|`,                // opens/s
			`\| ` + regexp.QuoteMeta(c.name) + ` \| ` + num + ` \| ` + num + ` \| ` + num + ` \| ` + num + ` \|`, // transfers
		} {
			if !regexp.MustCompile(re).MatchString(report) {
				t.Errorf("no row matching %s:\n%s", re, report)
			}
		}
		// etcd requests per open + close of distinct files.
		m := regexp.MustCompile(`\| ` + regexp.QuoteMeta(c.name) + ` \| ` + regexp.QuoteMeta(wlOpen) + ` \| ([^ |]+)`).FindStringSubmatch(report)
		if m == nil {
			t.Errorf("%s: no cost row:\n%s", c.name, report)
			continue
		}
		if c.etcd == 0 {
			if m[1] != "-" {
				t.Errorf("%s: etcd requests %s, want none", c.name, m[1])
			}
			continue
		}
		// An open needs at least a read and a transaction, its close one more.
		if v, err := strconv.ParseFloat(m[1], 64); err != nil || v < 2 {
			t.Errorf("%s: %s etcd requests per open + close, want at least 2", c.name, m[1])
		}
	}
	if !strings.Contains(report, "Txn") || !regexp.MustCompile(`\| 3 etcd members: 1 node -> 3 nodes \| [0-9.]+, [0-9.]+, [0-9.]+ \|`).MatchString(report) {
		t.Errorf("report lacks the request breakdown or the growth ratios:\n%s", report)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if text := string(b); !strings.HasPrefix(text, "# Performance\n\nthe other parts' figures\n") || clusterSection(text) != report {
		t.Errorf("report file is not the old text with the section appended:\n%s", text)
	}
}

func TestParseKVRequests(t *testing.T) {
	text := `# HELP grpc_server_handled_total Total number of RPCs completed on the server.
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 12
grpc_server_handled_total{grpc_code="OK",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 7
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",grpc_method="LeaseGrant",grpc_service="etcdserverpb.Lease",grpc_type="unary"} 5
etcd_mvcc_txn_total 99
`
	out := map[string]float64{"Range": 1}
	if err := parseKVRequests(strings.NewReader(text), out); err != nil {
		t.Fatal(err)
	}
	if out["Range"] != 13 || out["Txn"] != 8 || len(out) != 2 {
		t.Errorf("got %v, want Range 13 (1 before), Txn 8, nothing else", out)
	}
	if err := parseKVRequests(strings.NewReader("etcd_mvcc_txn_total 1\n"), map[string]float64{}); err == nil {
		t.Error("no KV samples: no error")
	}
	if err := parseKVRequests(strings.NewReader(`grpc_server_handled_total{grpc_method="Txn",grpc_service="etcdserverpb.KV"} x`+"\n"), map[string]float64{}); err == nil {
		t.Error("bad value: no error")
	}
}

func TestSpliceCluster(t *testing.T) {
	sec := func(s string) string { return clusterBegin + "\n" + s + "\n" + clusterEnd + "\n" }
	if got := spliceCluster("", sec("a")); got != "# Performance\n\n"+sec("a") {
		t.Errorf("into nothing: %q", got)
	}
	if got := spliceCluster("# P\n\nrest\n", sec("a")); got != "# P\n\nrest\n\n"+sec("a") {
		t.Errorf("appended: %q", got)
	}
	old := "# P\n\nbefore\n" + sec("old") + "after\n"
	got := spliceCluster(old, sec("new"))
	if got != "# P\n\nbefore\n"+sec("new")+"after\n" {
		t.Errorf("replaced: %q", got)
	}
	if clusterSection(got) != sec("new") || clusterSection("# P\n") != "" || clusterSection(clusterBegin+"\nno end") != "" {
		t.Errorf("clusterSection")
	}
}

// TestClusterPartSelection: a full run has the cluster part, the smoke
// run (CI's `go run ./bench -short`) leaves it out unless -only names it.
func TestClusterPartSelection(t *testing.T) {
	for _, c := range []struct {
		args  []string
		want  bool
		opens int
	}{
		{nil, true, 2000},
		{[]string{"-short"}, false, 100},
		{[]string{"-short", "-only", "cluster"}, true, 100},
		{[]string{"-only", "transfer"}, false, 2000},
	} {
		cfg, err := parseFlags(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.parts["cluster"] != c.want || cfg.clusterOpens != c.opens {
			t.Errorf("%q: cluster part %v with %d opens, want %v with %d", c.args, cfg.parts["cluster"], cfg.clusterOpens, c.want, c.opens)
		}
	}
	if _, err := parseFlags([]string{"-cluster-clients", "0"}); err == nil {
		t.Error("-cluster-clients 0 accepted")
	}
}
