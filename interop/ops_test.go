package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// Operations: the three doors to a policy change (file watch, SIGHUP,
// `signet policy set`), audit mode, `signet status` and the metrics,
// checked with real clients.

type opsStatus struct {
	Server struct {
		RequireSigning string `json:"require_signing"`
		Sessions       int    `json:"sessions"`
	} `json:"server"`
	Sessions []struct {
		User             string   `json:"user"`
		Clients          []string `json:"clients"`
		Dialect          string   `json:"dialect"`
		SigningAlgorithm string   `json:"signing_algorithm"`
		Signed           bool     `json:"signed"`
	} `json:"sessions"`
}

type opsAudit struct {
	RequireSigning string           `json:"require_signing"`
	Counts         map[string]int64 `json:"counts"`
	Clients        []struct {
		Client, User, Reason string
		Count                int64
	} `json:"clients"`
}

// signetCmd runs the signet binary and decodes its JSON output into out.
func signetCmd(t *testing.T, out any, args ...string) string {
	t.Helper()
	o, err := run(t, time.Minute, signetBin, args...)
	if err != nil {
		t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, o)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(o), out); err != nil {
			t.Fatalf("signet %s: output %q: %v", strings.Join(args, " "), o, err)
		}
	}
	return o
}

// scrape returns the signet_ samples of the metrics endpoint by series.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(l, "signet_") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			out[l[:i]] = v
		}
	}
	return out
}

// sumSeries adds the samples of a metric whose labels contain every
// label="value" given.
func sumSeries(m map[string]float64, name string, labels ...string) float64 {
	var n float64
	for k, v := range m {
		if !strings.HasPrefix(k, name+"{") && k != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(k, l)
		}
		if ok {
			n += v
		}
	}
	return n
}

// opsServer starts signet with metrics and the given watch_config.
func opsServer(t *testing.T, watch bool) (*signetServer, string) {
	metricsAddr := "127.0.0.1:" + freePort(t)
	extra := fmt.Sprintf("require_signing = false\nwatch_config = %t\n\n[metrics]\nlisten = %q\n", watch, metricsAddr)
	s := startSignet(t, serverOpts{extra: extra})
	waitPort(t, metricsAddr)
	return s, metricsAddr
}

// TestPolicyDoors flips require_signing false -> audit -> true -> false
// through each door while a Signet client session established at the
// start keeps working, and checks after each step the probe verdict, a
// fresh smbclient session, the audit events and the metrics.
func TestPolicyDoors(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	type door struct {
		name  string
		watch bool
		apply func(s *signetServer, value string)
	}
	setFile := func(s *signetServer, value string) {
		text, _ := run(t, time.Second, "cat", s.config)
		re := regexp.MustCompile(`(?m)^require_signing = .*$`)
		lit := value
		if value == "audit" {
			lit = `"audit"`
		}
		s.writeConfig(re.ReplaceAllString(text, "require_signing = "+lit))
	}
	doors := []door{
		{"file watch", true, func(s *signetServer, v string) { setFile(s, v) }},
		{"SIGHUP", false, func(s *signetServer, v string) {
			setFile(s, v)
			time.Sleep(300 * time.Millisecond) // not watched: nothing may change before the signal
			if st := status(t, s); st.Server.RequireSigning == v {
				t.Fatalf("unwatched file applied without SIGHUP")
			}
			s.cmd.Process.Signal(syscall.SIGHUP)
		}},
		{"policy set", false, func(s *signetServer, v string) {
			out := signetCmd(t, nil, "policy", "set", "--config", s.config, "server.require_signing="+v)
			if !strings.Contains(out, "server.require_signing:") || !strings.Contains(out, "-> "+v) {
				t.Fatalf("policy set output:\n%s", out)
			}
		}},
	}
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) {
			s, metricsAddr := opsServer(t, d.watch)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dl := &client.Dialer{User: testUser, Password: testPassword, AllowUnsigned: true, MaxDialect: client.Dialect302}
			sess, err := dl.Dial(ctx, s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			share, err := sess.Mount(ctx, "share")
			if err != nil {
				t.Fatal(err)
			}
			var lastUnsigned int64
			for _, v := range []string{"audit", "true", "false"} {
				d.apply(s, v)
				deadline := time.Now().Add(10 * time.Second)
				for status(t, s).Server.RequireSigning != v {
					if time.Now().After(deadline) {
						t.Fatalf("%s: require_signing = %s not applied:\n%s", d.name, v, s.Log())
					}
					time.Sleep(50 * time.Millisecond)
				}
				// The client established at the start keeps working.
				if _, err := share.ReadDir("."); err != nil {
					t.Fatalf("%s=%s: established client: %v", d.name, v, err)
				}
				// The probe's verdict follows the policy.
				var p probeJSON
				out, _ := exec.Command(signetBin, "probe", "--json", s.addr).Output()
				if err := json.Unmarshal(out, &p); err != nil || p.SigningRequired != (v == "true") {
					t.Fatalf("%s=%s: probe %q %v", d.name, v, out, err)
				}
				// A fresh smbclient session works (it signs only when required).
				if o, err := smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "-m", "SMB3", "-c", "ls"); err != nil {
					t.Fatalf("%s=%s: smbclient: %v\n%s", d.name, v, err, o)
				}
				var a opsAudit
				signetCmd(t, &a, "audit", "report", "--json", "--config", s.config)
				got := a.Counts["unsigned"]
				switch v {
				case "audit":
					// smbclient's session and the established client's.
					if got != lastUnsigned+2 || len(a.Clients) != 1 || a.Clients[0].Count != 2 || a.Clients[0].User != testUser {
						t.Errorf("%s=audit: unsigned events %d (before %d), clients %+v", d.name, got, lastUnsigned, a.Clients)
					}
				default:
					if got != lastUnsigned {
						t.Errorf("%s=%s: audit events grew from %d to %d", d.name, v, lastUnsigned, got)
					}
				}
				lastUnsigned = got
				m := scrape(t, metricsAddr)
				if n := sumSeries(m, "signet_audit_events_total", `reason="unsigned"`); int64(n) != got {
					t.Errorf("%s=%s: metrics audit %v, report %d", d.name, v, n, got)
				}
				st := status(t, s)
				if n := sumSeries(m, "signet_sessions"); int(n) != len(st.Sessions) || len(st.Sessions) != 1 {
					t.Errorf("%s=%s: metrics sessions %v, status %d", d.name, v, n, len(st.Sessions))
				}
			}
			if !s.waitLog("config reloaded: server.require_signing true -> false", 5*time.Second) {
				t.Errorf("%s: no reload line:\n%s", d.name, s.Log())
			}
		})
	}
}

func status(t *testing.T, s *signetServer) opsStatus {
	t.Helper()
	var st opsStatus
	signetCmd(t, &st, "status", "--json", "--config", s.config)
	return st
}

// TestStatusAgreesWithClients: smbclient (3.1.1), impacket (3.0) and the
// Signet client (2.1, signing) hold sessions at once under audit;
// `signet status` and the metrics list them as they are, smbclient's as
// unsigned; `signet sessions close --unsigned` ends the unsigned ones and
// leaves the signed one working.
func TestStatusAgreesWithClients(t *testing.T) {
	smbclient := needTool(t, "smbclient", "smbclient")
	py := needImpacket(t)
	s, metricsAddr := opsServer(t, false)
	signetCmd(t, nil, "policy", "set", "--config", s.config, "server.require_signing=audit")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// smbclient holds its session while its standard input is open.
	sc := exec.CommandContext(ctx, smbclient, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword, "-m", "SMB3_11")
	scIn, _ := sc.StdinPipe()
	scOut := &lockedBuf{}
	sc.Stdout, sc.Stderr = scOut, scOut
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { scIn.Close(); sc.Wait() }()
	io.WriteString(scIn, "ls\n")

	imp := exec.CommandContext(ctx, py, "testdata/impacket_hold.py", s.port, "0x0300", testUser, testPassword)
	impIn, _ := imp.StdinPipe()
	impOut, _ := imp.StdoutPipe()
	imp.Stderr = &lockedBuf{}
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { impIn.Close(); imp.Wait() }()
	line, err := bufio.NewReader(impOut).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready 0x300") {
		t.Fatalf("impacket: %q %v %s", line, err, imp.Stderr)
	}

	dl := &client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, MaxDialect: client.Dialect210}
	sess, err := dl.Dial(ctx, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	share, err := sess.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := share.ReadDir("."); err != nil {
		t.Fatal(err)
	}

	var st opsStatus
	deadline := time.Now().Add(15 * time.Second)
	for {
		st = status(t, s)
		if len(st.Sessions) == 3 && !strings.Contains(s.Log(), "unsigned_requests=0 duration") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions: %+v\nsmbclient: %s\n%s", st, scOut, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	byDialect := map[string]int{}
	for _, in := range st.Sessions {
		if in.User != testUser || len(in.Clients) != 1 || !strings.HasPrefix(in.Clients[0], "127.0.0.1:") {
			t.Errorf("session %+v", in)
		}
		byDialect[in.Dialect] = byDialect[in.Dialect] + 1
		switch in.Dialect {
		case "2.1":
			if !in.Signed || in.SigningAlgorithm != "HMAC-SHA256" {
				t.Errorf("Signet client session %+v", in)
			}
		case "3.1.1":
			if in.Signed || in.SigningAlgorithm != "AES-128-GMAC" {
				t.Errorf("smbclient session %+v", in)
			}
		case "3.0":
			if in.SigningAlgorithm != "AES-128-CMAC" {
				t.Errorf("impacket session %+v", in)
			}
		}
	}
	if byDialect["2.1"] != 1 || byDialect["3.0"] != 1 || byDialect["3.1.1"] != 1 {
		t.Fatalf("dialects %v", byDialect)
	}
	m := scrape(t, metricsAddr)
	for _, in := range st.Sessions {
		if n := sumSeries(m, "signet_sessions", `dialect="`+in.Dialect+`"`, fmt.Sprintf(`signed="%t"`, in.Signed),
			`signing_algorithm="`+in.SigningAlgorithm+`"`); n != 1 {
			t.Errorf("metrics for %s signed=%t: %v", in.Dialect, in.Signed, n)
		}
	}
	if n := sumSeries(m, "signet_sessions"); n != 3 {
		t.Errorf("metrics sessions %v", n)
	}
	if n := sumSeries(m, "signet_requests_total", `signed="true"`); n == 0 {
		t.Error("no signed requests counted")
	}
	if n := sumSeries(m, "signet_audit_events_total", `reason="unsigned"`); n < 1 {
		t.Errorf("audit metric %v", n)
	}
	var a opsAudit
	signetCmd(t, &a, "audit", "report", "--json", "--config", s.config)
	if a.Counts["unsigned"] < 1 {
		t.Errorf("audit report %+v", a)
	}
	text := signetCmd(t, nil, "status", "--config", s.config)
	if !strings.Contains(text, "HMAC-SHA256") || !strings.Contains(text, "3.1.1") || !strings.Contains(text, "require_signing = audit") {
		t.Errorf("status text:\n%s", text)
	}

	out := signetCmd(t, nil, "sessions", "close", "--unsigned", "--config", s.config)
	if !strings.Contains(out, "sessions closed") {
		t.Errorf("sessions close: %s", out)
	}
	st = status(t, s)
	for _, in := range st.Sessions {
		if !in.Signed {
			t.Errorf("unsigned session left: %+v", in)
		}
	}
	if _, err := share.ReadDir("."); err != nil {
		t.Errorf("signed session after close --unsigned: %v", err)
	}
	if !s.waitLog(`msg="session closed by the administrator"`, 5*time.Second) || !strings.Contains(s.Log(), `msg="session ended"`) {
		t.Errorf("no close lines:\n%s", s.Log())
	}
}
