package policy

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Authentication mechanism names, for server.auth_order.
const (
	MechKerberos = "kerberos"
	MechNTLM     = "ntlm"
)

// Kerberos defaults.
const (
	defaultMaxSkew      = 5 * time.Minute
	defaultReplayCache  = 65536
	defaultUnmapped     = "refuse"
	maxReplayCacheLimit = 1 << 24
)

// Kerberos is the [kerberos] table: Signet accepts Kerberos tickets for
// Service from Keytab. Nil in Config when the table is absent.
type Kerberos struct {
	// Keytab is the absolute path of the keytab (the service's keys,
	// as kadmin's ktadd writes them).
	Keytab string
	// Realm is the service's realm; client principals of this realm map
	// to users of the same name.
	Realm string
	// Service is the service principal without realm, "cifs/host.example.com".
	Service string
	// MaxSkew is the clock skew tolerated (max_skew, default 5m).
	MaxSkew time.Duration
	// ReplayCacheEntries bounds the replay cache (default 65536).
	ReplayCacheEntries int
	// Unmapped is the rule for principals neither the map nor the realm
	// rule maps: "refuse" (default) or "strip" (take the name before '@').
	Unmapped string
	// Map maps principals ("name@REALM") to users explicitly.
	Map map[string]string
}

type rawKerberos struct {
	Keytab             string            `toml:"keytab"`
	Realm              string            `toml:"realm"`
	Service            string            `toml:"service"`
	MaxSkew            string            `toml:"max_skew"`
	ReplayCacheEntries int64             `toml:"replay_cache_entries"`
	Unmapped           string            `toml:"unmapped"`
	Map                map[string]string `toml:"map"`
}

// authKeys are the keys of this file whose presence Show reports.
func authKeys() []string {
	return []string{"server.ntlm", "server.auth_order", "kerberos.keytab", "kerberos.realm",
		"kerberos.service", "kerberos.max_skew", "kerberos.replay_cache_entries", "kerberos.unmapped"}
}

// auth validates server.ntlm, server.auth_order and [kerberos], and sets
// the mechanisms in effect.
func (p *parser) auth(raw *rawConfig) {
	p.cfg.NTLM = true
	if p.set("server.ntlm") {
		p.cfg.NTLM = raw.Server.NTLM
	}
	order := []string{MechKerberos, MechNTLM}
	if p.set("server.auth_order") {
		order = nil
		for _, m := range raw.Server.AuthOrder {
			if m != MechKerberos && m != MechNTLM {
				p.fail("server.auth_order", "unknown mechanism %q (want %q or %q)", m, MechKerberos, MechNTLM)
				return
			}
			if slices.Contains(order, m) {
				p.fail("server.auth_order", "%q is listed twice", m)
				return
			}
			order = append(order, m)
		}
	}
	p.cfg.AuthOrder = order
	if p.md.IsDefined("kerberos") {
		p.kerberos(raw.Kerberos)
	}
	for _, m := range order {
		if (m == MechNTLM && p.cfg.NTLM) || (m == MechKerberos && p.cfg.Kerberos != nil) {
			p.cfg.AuthMechanisms = append(p.cfg.AuthMechanisms, m)
		}
	}
	if len(p.cfg.AuthMechanisms) == 0 {
		p.fail("server.ntlm", "no authentication mechanism is enabled: with ntlm = false, configure [kerberos] and list \"kerberos\" in auth_order")
	}
}

func (p *parser) kerberos(r rawKerberos) {
	k := &Kerberos{Keytab: r.Keytab, Realm: r.Realm, Service: r.Service, MaxSkew: defaultMaxSkew,
		ReplayCacheEntries: defaultReplayCache, Unmapped: defaultUnmapped, Map: map[string]string{}}
	ok := true
	bad := func(key, format string, args ...any) { p.fail(key, format, args...); ok = false }
	if k.Keytab == "" {
		bad("kerberos.keytab", "required: the keytab with the service's keys (kadmin: ktadd -k FILE cifs/HOST)")
	} else {
		k.Keytab = p.resolve(k.Keytab)
		if fi, err := p.env.stat(k.Keytab); err != nil {
			bad("kerberos.keytab", "%v", unwrapPathError(err))
		} else if fi.IsDir() {
			bad("kerberos.keytab", "%s is a folder", k.Keytab)
		}
	}
	if k.Realm == "" || hasControl(k.Realm) || strings.ContainsAny(k.Realm, "@/ ") {
		bad("kerberos.realm", "required: the realm, e.g. \"EXAMPLE.COM\"")
	}
	if name, realm, hasRealm := strings.Cut(k.Service, "@"); k.Service == "" || !strings.Contains(name, "/") || hasControl(k.Service) {
		bad("kerberos.service", "required: the service principal, e.g. \"cifs/files.example.com\"")
	} else {
		if hasRealm && !strings.EqualFold(realm, k.Realm) {
			bad("kerberos.service", "%s is not in realm %s", k.Service, k.Realm)
		}
		k.Service = name
	}
	if p.set("kerberos.max_skew") {
		d, err := time.ParseDuration(r.MaxSkew)
		if err != nil || d < time.Second || d > time.Hour {
			bad("kerberos.max_skew", "%q: want a duration from \"1s\" to \"1h\"", r.MaxSkew)
		}
		k.MaxSkew = d
	}
	if p.set("kerberos.replay_cache_entries") {
		if r.ReplayCacheEntries < 1 || r.ReplayCacheEntries > maxReplayCacheLimit {
			bad("kerberos.replay_cache_entries", "%d: want 1 to %d", r.ReplayCacheEntries, maxReplayCacheLimit)
		}
		k.ReplayCacheEntries = int(r.ReplayCacheEntries)
	}
	if p.set("kerberos.unmapped") {
		if r.Unmapped != "refuse" && r.Unmapped != "strip" {
			bad("kerberos.unmapped", "%q: want \"refuse\" or \"strip\"", r.Unmapped)
		}
		k.Unmapped = r.Unmapped
	}
	for principal, user := range r.Map {
		name, realm, found := strings.Cut(principal, "@")
		if !found || name == "" || realm == "" || user == "" {
			bad("kerberos.map", "%q = %q: want \"name@REALM\" = \"user\"", principal, user)
			continue
		}
		k.Map[principal] = user
	}
	if ok {
		p.cfg.Kerberos = k
	}
}

// authSettings renders the authentication keys for Show.
func (c *Config) authSettings() []Setting {
	out := []Setting{
		c.scalar("server.ntlm", strconv.FormatBool(c.NTLM), ntlmNote(c.NTLM)),
		c.scalar("server.auth_order", strings.Join(c.AuthOrder, ","), "SPNEGO offer order"),
		{Key: "server.auth_mechanisms", Value: strings.Join(c.AuthMechanisms, ","), Source: "derived", Note: "in effect: auth_order less what is off"},
	}
	k := c.Kerberos
	if k == nil {
		return append(out, Setting{Key: "kerberos", Value: "-", Source: SourceNotSet, Note: "Kerberos off: no [kerberos] table"})
	}
	out = append(out,
		c.scalar("kerberos.keytab", k.Keytab, ""),
		c.scalar("kerberos.realm", k.Realm, ""),
		c.scalar("kerberos.service", k.Service+"@"+k.Realm, "service principal"),
		c.scalar("kerberos.max_skew", k.MaxSkew.String(), "clock skew tolerated"),
		c.scalar("kerberos.replay_cache_entries", strconv.Itoa(k.ReplayCacheEntries), ""),
		c.scalar("kerberos.unmapped", k.Unmapped, "name@"+k.Realm+" maps to name; other principals: "+k.Unmapped),
	)
	keys := make([]string, 0, len(k.Map))
	for p := range k.Map {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		out = append(out, Setting{Key: "kerberos.map." + strconv.Quote(p), Value: k.Map[p], Source: SourceExplicit})
	}
	return out
}

func ntlmNote(on bool) string {
	if on {
		return ""
	}
	return `NTLM logons refused ("Restrict NTLM: Incoming NTLM traffic" = Deny all)`
}

// String summarises the Kerberos settings for logs.
func (k *Kerberos) String() string {
	return fmt.Sprintf("%s@%s keytab %s", k.Service, k.Realm, k.Keytab)
}
