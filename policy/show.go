package policy

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Setting is one effective value as shown by `signet policy show`.
type Setting struct {
	Key    string // "server.require_signing", "share.public.path", ...
	Value  string
	Source string // SourceExplicit, SourceBuiltin, SourceNotSet or "role default (<role>)"
	Note   string // optional remark, e.g. the Windows policy name
}

// Show lists every effective value with where it came from, including one
// line per SMBv1-only setting saying that it has no effect and one per
// limit.
func (c *Config) Show() []Setting {
	out := []Setting{
		c.scalar("server.listen", c.Listen, ""),
		c.scalar("server.role", string(c.Role), ""),
		{Key: "server.require_signing", Value: c.requireSigningText(),
			Source: c.RequireSigningSource, Note: serverAlways},
		c.ignored("server.enable_security_signature", c.ServerEnableSecuritySignature, serverIfAgrees),
		c.scalar("server.users_file", c.UsersFile, ""),
		c.scalar("server.server_name", c.ServerName, c.serverNameNote()),
		c.scalar("server.domain", c.Domain, ""),
		c.scalar("server.min_dialect", c.MinDialect.String(), ""),
		c.scalar("server.max_dialect", c.MaxDialect.String(), ""),
		c.scalar("server.signing_algorithms", joinAlgorithms(c.SigningAlgorithms), "SMB 3.1.1 preference order"),
		c.scalar("server.allow_anonymous", strconv.FormatBool(c.AllowAnonymous), c.anonymousNote()),
		c.scalar("server.max_sessions", strconv.Itoa(c.MaxSessions), maxSessionsNote(c.MaxSessions)),
		c.scalar("server.multichannel", strconv.FormatBool(c.Multichannel), "SMB 3 session binding; each channel signs with its own key"),
	}
	out = append(out, c.encryptionSettings()...)
	out = append(out, []Setting{
		c.scalar("client.require_signing", strconv.FormatBool(c.ClientRequireSigning), clientAlways),
		c.ignored("client.enable_security_signature", c.ClientEnableSecuritySignature, clientIfAgrees),
		c.scalar("server.admin_socket", orDash(c.AdminSocket), "signet status / policy set / audit report / sessions close"),
		c.scalar("server.audit_min_dialect", dialectOrDash(c.AuditMinDialect), "under require_signing = \"audit\": sessions below are recorded"),
		c.scalar("server.audit_min_signing_algorithm", c.AuditMinSigning.String(), "under \"audit\": weaker algorithms are recorded"),
		c.scalar("server.watch_config", strconv.FormatBool(c.WatchConfig), "reload when the file changes; SIGHUP and policy set always do"),
		c.scalar("metrics.listen", orDash(c.MetricsListen), "Prometheus endpoint, path /metrics"),
		c.scalar("log.format", c.LogFormat, ""),
		c.scalar("log.level", c.LogLevel, ""),
	}...)
	for i, ni := range c.Interfaces {
		addrs := make([]string, len(ni.Addresses))
		for j, a := range ni.Addresses {
			addrs[j] = a.String()
		}
		out = append(out, Setting{Key: fmt.Sprintf("interface[%d]", i), Source: SourceExplicit,
			Value: fmt.Sprintf("index=%d speed=%d rss=%t rdma=%t addresses=%s", ni.Index, ni.Speed, ni.RSS, ni.RDMA, strings.Join(addrs, ",")),
			Note:  "reported to multichannel clients instead of the machine's interfaces"})
	}
	out = append(out, c.authSettings()...)
	out = append(out, c.clusterSettings()...)
	out = append(out, c.limitSettings()...)
	for _, s := range c.Shares {
		out = append(out, shareSettings(s)...)
	}
	return out
}

func (c *Config) source(key string) string {
	if c.explicit[key] {
		return SourceExplicit
	}
	return SourceBuiltin
}

func (c *Config) scalar(key, value, note string) Setting {
	return Setting{Key: key, Value: value, Source: c.source(key), Note: note}
}

func (c *Config) ignored(key string, v Ignored, policy string) Setting {
	s := Setting{Key: key, Value: "-", Source: SourceNotSet, Note: smb1Note(policy)}
	if v.Set {
		s.Value, s.Source = strconv.FormatBool(v.Value), SourceExplicit
	}
	return s
}

func (c *Config) serverNameNote() string {
	if c.explicit["server.server_name"] {
		return ""
	}
	return "from the host name"
}

func (c *Config) anonymousNote() string {
	if c.AllowAnonymous && c.RequireSigning {
		return "no effect: anonymous sessions cannot sign and require_signing is true"
	}
	return ""
}

func maxSessionsNote(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return ""
}

// shareSettings renders one share; shares only exist when configured.
func shareSettings(s Share) []Setting {
	k := "share." + s.Name + "."
	users, note := strings.Join(s.Users, ","), ""
	if len(s.Users) == 0 {
		users, note = "-", "every authenticated user"
	}
	return []Setting{
		{Key: k + "path", Value: s.Path, Source: SourceExplicit},
		{Key: k + "read_only", Value: strconv.FormatBool(s.ReadOnly), Source: SourceExplicit},
		{Key: k + "comment", Value: strconv.Quote(s.Comment), Source: SourceExplicit},
		{Key: k + "users", Value: users, Source: SourceExplicit, Note: note},
		{Key: k + "encrypt_data", Value: strconv.FormatBool(s.EncryptData), Source: SourceExplicit},
	}
}

func joinAlgorithms(as []SigningAlgorithm) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.String()
	}
	return strings.Join(names, ",")
}

// WriteText writes the Show listing as aligned columns, preceded by a line
// naming the source, for `signet policy show`.
func (c *Config) WriteText(w io.Writer) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE\tNOTE")
	for _, s := range c.Show() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Key, s.Value, s.Source, s.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := fmt.Fprintf(w, "# %s\n%s\n", c.Name, strings.Join(lines, "\n"))
	return err
}

// Change is one effective value that differs between two snapshots.
// Old or New is "" when the key exists on one side only (a share was
// added or removed).
type Change struct {
	Key, Old, New string
}

func (ch Change) String() string {
	return fmt.Sprintf("%s %s -> %s", ch.Key, orNone(ch.Old), orNone(ch.New))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Diff lists the effective values that differ from old to next, in Show
// order (keys only in old come last). Sources are not compared.
func Diff(old, next *Config) []Change {
	before := map[string]string{}
	for _, s := range old.Show() {
		before[s.Key] = s.Value
	}
	var out []Change
	for _, s := range next.Show() {
		prev, had := before[s.Key]
		delete(before, s.Key)
		if !had || prev != s.Value {
			out = append(out, Change{Key: s.Key, Old: prev, New: s.Value})
		}
	}
	for _, s := range old.Show() {
		if v, gone := before[s.Key]; gone {
			out = append(out, Change{Key: s.Key, Old: v})
		}
	}
	return out
}
