package policy

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// invalidNameChars may not appear in share, computer or domain names.
const invalidNameChars = `\/:*?"<>|`

func (p *parser) listen(v string) {
	const key = "server.listen"
	if !p.set(key) {
		p.cfg.Listen = defaultListen
		return
	}
	if err := checkListen(v); err != nil {
		p.fail(key, "%v", err)
		return
	}
	p.cfg.Listen = v
}

// checkListen accepts host:port, [ipv6]:port and :port with a numeric port.
func checkListen(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", v, stripAddrErr(err))
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", v, port)
	}
	return nil
}

// stripAddrErr keeps only the reason of a *net.AddrError.
func stripAddrErr(err error) string {
	if ae, ok := err.(*net.AddrError); ok {
		return ae.Err
	}
	return err.Error()
}

func (p *parser) role(v string) {
	const key = "server.role"
	if !p.set(key) {
		p.cfg.Role = defaultRole
		return
	}
	r, err := ParseRole(v)
	if err != nil {
		p.fail(key, "%v", err)
		return
	}
	p.cfg.Role = r
}

// requireSigning applies the explicit value or the role default. It runs
// after role; with an invalid role the source names the fallback.
func (p *parser) requireSigning(v signingValue) {
	if p.set("server.require_signing") {
		if v.err != nil {
			p.fail("server.require_signing", "%v", v.err)
			return
		}
		p.cfg.RequireSigning, p.cfg.AuditSigning, p.cfg.RequireSigningSource = v.required, v.audit, SourceExplicit
		return
	}
	r := p.cfg.Role
	if r == "" {
		r = defaultRole
	}
	p.cfg.RequireSigning, p.cfg.RequireSigningSource = r.DefaultRequireSigning(), roleSource(r)
}

func (p *parser) serverName(v string) {
	const key = "server.server_name"
	if !p.set(key) {
		p.cfg.ServerName = hostNetBIOSName(p.env.hostname)
		return
	}
	if err := checkNetBIOSName(v); err != nil {
		p.fail(key, "%v", err)
		return
	}
	p.cfg.ServerName = strings.ToUpper(v)
}

func (p *parser) domain(v string) {
	const key = "server.domain"
	if !p.set(key) {
		p.cfg.Domain = defaultDomain
		return
	}
	if err := checkNetBIOSName(v); err != nil {
		p.fail(key, "%v", err)
		return
	}
	p.cfg.Domain = strings.ToUpper(v)
}

// hostNetBIOSName derives the default computer name: the host name up to
// the first dot, upper-cased, at most 15 characters.
func hostNetBIOSName(hostname func() (string, error)) string {
	h, err := hostname()
	if err != nil {
		return defaultServerName
	}
	h, _, _ = strings.Cut(h, ".")
	h = strings.ToUpper(h)
	if len(h) > maxNetBIOSName {
		h = h[:maxNetBIOSName]
	}
	if checkNetBIOSName(h) != nil {
		return defaultServerName
	}
	return h
}

func checkNetBIOSName(v string) error {
	switch {
	case v == "":
		return fmt.Errorf("must not be empty")
	case len(v) > maxNetBIOSName:
		return fmt.Errorf("%q is longer than %d bytes", v, maxNetBIOSName)
	case strings.ContainsAny(v, invalidNameChars+". "):
		return fmt.Errorf("%q contains one of %s, '.' or a space", v, invalidNameChars)
	case hasControl(v) || !utf8.ValidString(v):
		return fmt.Errorf("%q contains control characters or invalid UTF-8", v)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

func (p *parser) dialects(minS, maxS string) {
	lo := p.dialect("server.min_dialect", minS, defaultMinDialect)
	hi := p.dialect("server.max_dialect", maxS, defaultMaxDialect)
	if lo == 0 || hi == 0 {
		return
	}
	if lo > hi {
		p.fail("server.min_dialect", "min_dialect %s is above max_dialect %s", lo, hi)
		return
	}
	p.cfg.MinDialect, p.cfg.MaxDialect = lo, hi
}

// dialect returns 0 after reporting an invalid value.
func (p *parser) dialect(key, v string, def Dialect) Dialect {
	if !p.set(key) {
		return def
	}
	d, err := ParseDialect(v)
	if err != nil {
		p.fail(key, "%v", err)
		return 0
	}
	return d
}

func (p *parser) algorithms(names []string) {
	const key = "server.signing_algorithms"
	if !p.set(key) {
		p.cfg.SigningAlgorithms = DefaultSigningAlgorithms()
		return
	}
	if len(names) == 0 {
		p.fail(key, "must list at least one algorithm")
		return
	}
	var out []SigningAlgorithm
	seen := map[SigningAlgorithm]bool{}
	for i, n := range names {
		a, err := ParseSigningAlgorithm(n)
		if err != nil {
			p.fail(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			continue
		}
		if seen[a] {
			p.fail(fmt.Sprintf("%s[%d]", key, i), "%s listed twice", a)
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	p.cfg.SigningAlgorithms = out
}

func (p *parser) anonymous(v bool) {
	p.cfg.AllowAnonymous = v
	if v && p.cfg.RequireSigning {
		p.warn("server.allow_anonymous", "has no effect while require_signing is true (%s): anonymous sessions cannot sign and are refused",
			p.cfg.RequireSigningSource)
	}
}

func (p *parser) maxSessions(v int64) {
	const key = "server.max_sessions"
	if v < 0 || v > math.MaxInt32 {
		p.fail(key, "%d is out of range (0 = unlimited, at most %d)", v, math.MaxInt32)
		return
	}
	p.cfg.MaxSessions = int(v)
}

// multichannel takes server.multichannel (default true) and the
// [[interface]] tables.
func (p *parser) multichannel(v bool, ifs []rawInterface) {
	p.cfg.Multichannel = true
	if p.set("server.multichannel") {
		p.cfg.Multichannel = v
	}
	for i, ri := range ifs {
		key := fmt.Sprintf("interface[%d]", i)
		ni := Interface{RSS: ri.RSS, RDMA: ri.RDMA, Speed: 1_000_000_000}
		if ri.Index < 0 || ri.Index > math.MaxUint32 {
			p.fail(key+".index", "%d is out of range", ri.Index)
			continue
		}
		ni.Index = uint32(ri.Index)
		if ni.Index == 0 {
			ni.Index = uint32(i + 1)
		}
		if ri.Speed != "" {
			sp, err := parseLinkSpeed(ri.Speed)
			if err != nil {
				p.fail(key+".speed", "%v", err)
				continue
			}
			ni.Speed = sp
		}
		if len(ri.Addresses) == 0 {
			p.fail(key+".addresses", "at least one address is needed")
			continue
		}
		for j, a := range ri.Addresses {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				p.fail(fmt.Sprintf("%s.addresses[%d]", key, j), "%v", err)
				continue
			}
			ni.Addresses = append(ni.Addresses, ip)
		}
		p.cfg.Interfaces = append(p.cfg.Interfaces, ni)
	}
}

// parseLinkSpeed reads "10G", "2.5Gb", "100M", "1000000000" (bits per
// second).
func parseLinkSpeed(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "bps"), "b")
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "g"):
		mult, t = 1e9, strings.TrimSuffix(t, "g")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1e15 {
		return 0, fmt.Errorf("%q is not a link speed (examples: 10G, 2.5G, 100M)", s)
	}
	return uint64(v * mult), nil
}

func (p *parser) client(c rawClient) {
	p.cfg.ClientRequireSigning = defaultClientSign
	if p.set("client.require_signing") {
		p.cfg.ClientRequireSigning = c.RequireSigning
	}
}

// smb1Only records the SMBv1 "if ... agrees" settings and warns that they
// do nothing: SMB2/SMB3 signing is always enabled, only "required" matters.
func (p *parser) smb1Only(raw *rawConfig) {
	if p.set("server.enable_security_signature") {
		p.cfg.ServerEnableSecuritySignature = Ignored{Set: true, Value: raw.Server.EnableSecuritySignature}
		p.warn("server.enable_security_signature", "%s; use server.require_signing", smb1Note(serverIfAgrees))
	}
	if p.set("client.enable_security_signature") {
		p.cfg.ClientEnableSecuritySignature = Ignored{Set: true, Value: raw.Client.EnableSecuritySignature}
		p.warn("client.enable_security_signature", "%s; use client.require_signing", smb1Note(clientIfAgrees))
	}
}

// Windows policy names shown next to the settings they correspond to.
const (
	serverAlways   = "Microsoft network server: Digitally sign communications (always)"
	clientAlways   = "Microsoft network client: Digitally sign communications (always)"
	serverIfAgrees = "Microsoft network server: Digitally sign communications (if client agrees)"
	clientIfAgrees = "Microsoft network client: Digitally sign communications (if server agrees)"
)

func smb1Note(policy string) string {
	return fmt.Sprintf("SMBv1-only setting %q (EnableSecuritySignature) has no effect on SMB2/SMB3", policy)
}

func (p *parser) shares(raw []rawShare) {
	if len(raw) == 0 {
		p.warn("share", "no [[share]] defined; clients can connect to IPC$ only")
	}
	seen := map[string]int{}
	for i, r := range raw {
		key := fmt.Sprintf("share[%d]", i)
		s, ok := p.share(key, r)
		if !ok {
			continue
		}
		fold := strings.ToLower(s.Name)
		if j, dup := seen[fold]; dup {
			p.fail(key+".name", "share %q is already defined by share[%d]", s.Name, j)
			continue
		}
		seen[fold] = i
		p.cfg.Shares = append(p.cfg.Shares, s)
	}
}

// share validates one [[share]]; key is "share[i]".
func (p *parser) share(key string, r rawShare) (Share, bool) {
	if err := checkShareName(r.Name); err != nil {
		p.fail(key+".name", "%v", err)
		return Share{}, false
	}
	ok := true
	path, err := p.shareDir(r.Path)
	if err != nil {
		p.fail(key+".path", "share %q: %v", r.Name, err)
		ok = false
	}
	for j, u := range r.Users {
		if strings.TrimSpace(u) == "" || hasControl(u) {
			p.fail(fmt.Sprintf("%s.users[%d]", key, j), "share %q: invalid user name %q", r.Name, u)
			ok = false
		}
	}
	s := Share{Name: r.Name, Path: path, ReadOnly: r.ReadOnly, Comment: r.Comment,
		Users: append([]string(nil), r.Users...), EncryptData: r.EncryptData}
	return s, ok
}

func checkShareName(n string) error {
	switch {
	case n == "":
		return fmt.Errorf("missing share name")
	case utf8.RuneCountInString(n) > maxShareName:
		return fmt.Errorf("share name %q is longer than %d characters", n, maxShareName)
	case strings.ContainsAny(n, invalidNameChars):
		return fmt.Errorf("share name %q contains one of %s", n, invalidNameChars)
	case hasControl(n) || !utf8.ValidString(n):
		return fmt.Errorf("share name %q contains control characters or invalid UTF-8", n)
	case strings.EqualFold(n, "IPC$"):
		return fmt.Errorf("share name %q is reserved", n)
	}
	return nil
}

// shareDir resolves a share path and checks it is an existing directory.
func (p *parser) shareDir(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("missing path")
	}
	abs := p.resolve(path)
	fi, err := p.env.stat(abs)
	if err != nil {
		return "", fmt.Errorf("path %q: %v", abs, unwrapPathError(err))
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("path %q is not a directory", abs)
	}
	return abs, nil
}
