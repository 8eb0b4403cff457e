package policy

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// signingValue is server.require_signing: true, false or "audit".
type signingValue struct {
	required, audit bool
	err             error // reported by the parser with the key
}

// UnmarshalTOML accepts a boolean or the string "audit".
func (v *signingValue) UnmarshalTOML(data any) error {
	switch x := data.(type) {
	case bool:
		v.required = x
	case string:
		if strings.EqualFold(x, "audit") {
			v.audit = true
			return nil
		}
		v.err = fmt.Errorf("%q is not true, false or \"audit\"", x)
	default:
		v.err = fmt.Errorf("%v is not true, false or \"audit\"", data)
	}
	return nil
}

// requireSigningText is the effective value as written in the file.
func (c *Config) requireSigningText() string {
	if c.AuditSigning {
		return "audit"
	}
	if c.RequireSigning {
		return "true"
	}
	return "false"
}

// RequireSigningText is server.require_signing as written in a file:
// "true", "false" or "audit".
func (c *Config) RequireSigningText() string { return c.requireSigningText() }

type rawMetrics struct {
	Listen string `toml:"listen"`
}

type rawLog struct {
	Format string `toml:"format"`
	Level  string `toml:"level"`
}

// Defaults of the operations keys.
const (
	defaultAdminSocket = "admin.sock"
	defaultLogFormat   = "text"
	defaultLogLevel    = "info"
)

func (p *parser) adminSocket(v string) {
	const key = "server.admin_socket"
	if !p.set(key) {
		v = defaultAdminSocket
	}
	if v == "" || v == "none" {
		p.cfg.AdminSocket = ""
		return
	}
	p.cfg.AdminSocket = p.resolve(v)
	// sockaddr_un.sun_path holds 108 bytes on Linux, 104 on the BSDs.
	if len(p.cfg.AdminSocket) > 100 {
		p.fail(key, "path %q is longer than 100 bytes, too long for a unix socket", p.cfg.AdminSocket)
	}
}

func (p *parser) auditFloors(dialect, alg string) {
	if p.set("server.audit_min_dialect") {
		d, err := ParseDialect(dialect)
		if err != nil {
			p.fail("server.audit_min_dialect", "%v", err)
		}
		p.cfg.AuditMinDialect = d
	}
	if p.set("server.audit_min_signing_algorithm") {
		a, err := ParseSigningAlgorithm(alg)
		if err != nil {
			p.fail("server.audit_min_signing_algorithm", "%v", err)
		}
		p.cfg.AuditMinSigning = a
	}
}

func (p *parser) metrics(m rawMetrics) {
	if !p.set("metrics.listen") || m.Listen == "" {
		return
	}
	if err := checkListen(m.Listen); err != nil {
		p.fail("metrics.listen", "%v", err)
		return
	}
	p.cfg.MetricsListen = m.Listen
}

func (p *parser) logging(l rawLog) {
	p.cfg.LogFormat, p.cfg.LogLevel = defaultLogFormat, defaultLogLevel
	if p.set("log.format") {
		switch f := strings.ToLower(l.Format); f {
		case "text", "json":
			p.cfg.LogFormat = f
		default:
			p.fail("log.format", "%q is not \"text\" or \"json\"", l.Format)
		}
	}
	if p.set("log.level") {
		switch lv := strings.ToLower(l.Level); lv {
		case "debug", "info", "warn", "error":
			p.cfg.LogLevel = lv
		default:
			p.fail("log.level", "%q is not \"debug\", \"info\", \"warn\" or \"error\"", l.Level)
		}
	}
}

func dialectOrDash(d Dialect) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// unknownKey reports a key this version does not know: an error naming
// the closest known key, or a warning when the file was loaded with
// LoadAllowUnknown. A misspelt key is an error because its default may be
// the opposite of what was meant (require_signin = true leaves signing
// off under role = "member").
func (p *parser) unknownKey(key string) {
	hint := ""
	if s := suggestKey(key); s != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", s)
	}
	if p.allowUnknown {
		p.warn(key, "unknown key, ignored%s", hint)
		return
	}
	p.fail(key, "unknown key%s; run with --allow-unknown to ignore keys of another Signet version", hint)
}

// KnownKeys lists every key a configuration file may set, tables
// included ("share.path" for the keys of [[share]] entries).
func KnownKeys() []string {
	var out []string
	add := func(prefix string, v any) {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			if tag := t.Field(i).Tag.Get("toml"); tag != "" {
				out = append(out, prefix+tag)
			}
		}
	}
	add("server.", rawServer{})
	add("client.", rawClient{})
	add("share.", rawShare{})
	add("interface.", rawInterface{})
	add("metrics.", rawMetrics{})
	add("log.", rawLog{})
	add("kerberos.", rawKerberos{})
	for _, s := range limitSpecs() {
		out = append(out, "limits."+s.key)
	}
	sort.Strings(out)
	return out
}

// suggestKey returns the known key closest to key when it is close
// enough to be a typo ("" otherwise).
func suggestKey(key string) string {
	best, bestD := "", 4
	for _, k := range KnownKeys() {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		// A key put in the wrong table: server.max_opens -> limits.max_opens.
		_, leaf, _ := strings.Cut(key, ".")
		for _, k := range KnownKeys() {
			if _, kl, _ := strings.Cut(k, "."); kl == leaf && leaf != "" {
				return k
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RestartKeys are the keys whose change takes effect only when the
// server restarts: reloads and `policy set` report them as not applied.
func RestartKeys() []string {
	return []string{"server.listen", "server.users_file", "server.admin_socket", "server.watch_config", "metrics.listen", "log.format"}
}

// NeedsRestart reports whether a change of key applies only after a restart.
func NeedsRestart(key string) bool {
	if strings.HasPrefix(key, "cluster.") {
		return true // the node joins its cluster at start (docs/cluster.md)
	}
	for _, k := range RestartKeys() {
		if k == key {
			return true
		}
	}
	return false
}
