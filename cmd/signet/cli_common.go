package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/policy"
)

// Shared plumbing of the client subcommands (ls, get, put, rm, mkdir, mv,
// stat, shares, probe).

// exitError is an error with a process exit status; main honours
// ExitCode. An empty msg prints nothing.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode returns the process exit status.
func (e *exitError) ExitCode() int { return e.code }

// passwordEnv names the environment variable holding the password.
const passwordEnv = "SIGNET_PASSWORD"

// clientFlags are the connection flags common to the client commands.
type clientFlags struct {
	user           string
	domain         string
	requireSigning bool
	encrypt        bool
	dialect        string
	minDialect     string
	maxDialect     string
	timeout        time.Duration
	config         string // [client] require_signing from this file
	passwordStdin  bool
	channels       int
	noLeases       bool
	noDurable      bool
	failover       string        // --failover host:port,...
	krb            kerberosFlags // cli_kerberos.go
}

// register adds the connection flags to fs.
func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.user, "U", os.Getenv("USER"), "user name (password from $"+passwordEnv+" or a prompt)")
	fs.StringVar(&c.user, "user", os.Getenv("USER"), "same as -U")
	fs.StringVar(&c.domain, "W", "", "domain or workgroup of the user")
	fs.StringVar(&c.domain, "domain", "", "same as -W")
	fs.BoolVar(&c.requireSigning, "require-signing", true, "refuse sessions that are not signed (--require-signing=false to allow)")
	fs.BoolVar(&c.encrypt, "encrypt", false, "require SMB3 encryption: refuse servers that do not offer it, encrypt every request")
	fs.StringVar(&c.dialect, "dialect", "", "use exactly this dialect (2.0.2, 2.1, 3.0, 3.0.2, 3.1.1)")
	fs.StringVar(&c.minDialect, "min-dialect", "", "lowest dialect to offer")
	fs.StringVar(&c.maxDialect, "max-dialect", "", "highest dialect to offer")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "limit for connecting and for each request")
	fs.IntVar(&c.channels, "channels", 1, fmt.Sprintf("connections per session when the server offers SMB3 multichannel (1-%d); large transfers are spread over them", client.MaxChannels))
	fs.BoolVar(&c.noLeases, "no-leases", false, "ask for no leases (and so no durable handles)")
	fs.BoolVar(&c.noDurable, "no-durable", false, "ask for no durable handles: a lost connection fails the transfer instead of reconnecting")
	fs.StringVar(&c.failover, "failover", "", "other addresses of the service (host:port,...), e.g. the other nodes of a Signet cluster: a lost connection reconnects there when the server is gone, reclaiming the durable handles")
	c.krb.register(fs)
	fs.StringVar(&c.config, "config", "", "configuration file whose [client] require_signing applies (--require-signing overrides it)")
	fs.BoolVar(&c.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
}

// finish applies what depends on several flags and on the targets, after
// parsing: [client] require_signing from --config unless
// --require-signing was given, and the user of smb://user@host URLs
// unless -U was given.
func (c *clientFlags) finish(fs *flag.FlagSet, pos []string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.config != "" && !set["require-signing"] {
		cfg, _, err := policy.LoadAllowUnknown(c.config)
		if err != nil {
			return err
		}
		c.requireSigning = cfg.ClientRequireSigning
	}
	if !set["U"] && !set["user"] {
		for _, p := range pos {
			if u := targetUser(p); u != "" {
				c.user = u
				if d, name, ok := strings.Cut(u, ";"); ok {
					c.domain, c.user = d, name
				}
				break
			}
		}
	}
	if c.passwordStdin {
		for _, p := range pos {
			if p == "-" {
				return errors.New("--password-stdin and - (standard input as data) exclude each other; use $" + passwordEnv)
			}
		}
	}
	return nil
}

// dialer builds the client.Dialer; the password is read once.
func (c *clientFlags) dialer(host string) (*client.Dialer, error) {
	d := &client.Dialer{User: c.user, Domain: c.domain, AllowUnsigned: !c.requireSigning, RequireEncryption: c.encrypt,
		Timeout: c.timeout, Channels: c.channels, NoLeases: c.noLeases, NoDurable: c.noDurable}
	for _, a := range strings.Split(c.failover, ",") {
		if a = strings.TrimSpace(a); a != "" {
			if _, _, err := client.SplitAddr(a); err != nil {
				return nil, fmt.Errorf("--failover: %w", err)
			}
			d.Failover = append(d.Failover, a)
		}
	}
	if c.channels < 1 || c.channels > client.MaxChannels {
		return nil, fmt.Errorf("--channels %d: want 1 to %d", c.channels, client.MaxChannels)
	}
	var err error
	if d.MinDialect, d.MaxDialect, err = c.dialectRange(); err != nil {
		return nil, err
	}
	d.Kerberos = c.krb.options()
	if d.User != "" && (d.Kerberos == nil || !d.Kerberos.NoNTLM) {
		if d.Password, err = c.readPassword(d.User, host); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// dialectRange returns MinDialect and MaxDialect from the flags.
func (c *clientFlags) dialectRange() (lo, hi uint16, err error) {
	parse := func(s string) (uint16, error) {
		if s == "" {
			return 0, nil
		}
		return client.ParseDialect(s)
	}
	if c.dialect != "" {
		if c.minDialect != "" || c.maxDialect != "" {
			return 0, 0, errors.New("--dialect excludes --min-dialect and --max-dialect")
		}
		d, err := parse(c.dialect)
		return d, d, err
	}
	if lo, err = parse(c.minDialect); err != nil {
		return 0, 0, fmt.Errorf("--min-dialect: %w", err)
	}
	if hi, err = parse(c.maxDialect); err != nil {
		return 0, 0, fmt.Errorf("--max-dialect: %w", err)
	}
	if lo != 0 && hi != 0 && lo > hi {
		return 0, 0, fmt.Errorf("--min-dialect %s is above --max-dialect %s", c.minDialect, c.maxDialect)
	}
	return lo, hi, nil
}

// readPassword takes the password from $SIGNET_PASSWORD, standard input
// (--password-stdin), else prompts on the terminal without echo.
func (c *clientFlags) readPassword(user, host string) (string, error) {
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	if c.passwordStdin {
		return readPasswordLine(os.Stdin)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("no password for %s: set %s or run from a terminal", user, passwordEnv)
	}
	fmt.Fprintf(os.Stderr, "Password for %s@%s: ", user, host)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	return string(pw), nil
}

// parseClientArgs parses flags placed before, between or after the
// positional arguments; everything after "--" is positional.
func parseClientArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a flag set whose usage prints "usage: signet
// SYNOPSIS"; the synopsis starts with the command's name.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: signet %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// smbTarget is //host[:port]/share/path split up.
type smbTarget struct {
	addr  string // host[:port]
	share string // "" when only the server was named
	path  string // io/fs path inside the share; "." for the root
	dir   bool   // the argument ended with a slash
}

// parseTarget accepts //host[:port]/share/path, smb://host/share/path and
// \\host\share\path.
func parseTarget(s string) (smbTarget, error) {
	orig := s
	s = strings.TrimPrefix(s, "smb:")
	s = strings.ReplaceAll(s, `\`, "/")
	if !strings.HasPrefix(s, "//") {
		return smbTarget{}, fmt.Errorf("%q is not of the form //host[:port]/share/path or smb://[user@]host/share/path", orig)
	}
	s = s[2:]
	if host, _, _ := strings.Cut(s, "/"); strings.Contains(host, "@") {
		user := host[:strings.LastIndexByte(host, '@')]
		if strings.Contains(user, ":") {
			return smbTarget{}, fmt.Errorf("%q: a password in the URL would be seen by every user of this machine; use $%s or --password-stdin", orig, passwordEnv)
		}
		s = s[len(user)+1:]
	}
	var t smbTarget
	t.dir = strings.HasSuffix(s, "/")
	parts := strings.SplitN(s, "/", 3)
	t.addr = parts[0]
	if t.addr == "" {
		return smbTarget{}, fmt.Errorf("%q names no server", orig)
	}
	if len(parts) > 1 {
		t.share = parts[1]
	}
	t.path = "."
	if len(parts) > 2 && strings.Trim(parts[2], "/") != "" {
		t.path = path.Clean(strings.Trim(parts[2], "/"))
		if t.path == ".." || strings.HasPrefix(t.path, "../") {
			return smbTarget{}, fmt.Errorf("%q climbs above the share", orig)
		}
	}
	return t, nil
}

// targetUser returns the user of an smb://user@host/... argument ("" if
// none); "DOMAIN;user" keeps the domain with the name, as smbclient does.
func targetUser(arg string) string {
	s := strings.TrimPrefix(arg, "smb:")
	s = strings.ReplaceAll(s, `\`, "/")
	if !strings.HasPrefix(s, "//") {
		return ""
	}
	host, _, _ := strings.Cut(s[2:], "/")
	i := strings.LastIndexByte(host, '@')
	if i < 0 {
		return ""
	}
	return host[:i]
}

// needShare parses a target that must name a share.
func needShare(s string) (smbTarget, error) {
	t, err := parseTarget(s)
	if err == nil && t.share == "" {
		err = fmt.Errorf("%q names no share", s)
	}
	return t, err
}

// connections caches one session per server and one mount per share for
// a command that touches several targets.
type connections struct {
	flags    *clientFlags
	dialer   *client.Dialer
	sessions map[string]*client.Session
	shares   map[string]*client.Share
}

func newConnections(f *clientFlags) *connections {
	return &connections{flags: f, sessions: map[string]*client.Session{}, shares: map[string]*client.Share{}}
}

// session returns the session to addr, dialing it on first use.
func (c *connections) session(ctx context.Context, addr string) (*client.Session, error) {
	if s, ok := c.sessions[addr]; ok {
		return s, nil
	}
	if c.dialer == nil {
		host, _, err := client.SplitAddr(addr)
		if err != nil {
			return nil, err
		}
		if c.dialer, err = c.flags.dialer(host); err != nil {
			return nil, err
		}
	}
	s, err := c.dialer.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	c.sessions[addr] = s
	return s, nil
}

// share returns the mounted share of t.
func (c *connections) share(ctx context.Context, t smbTarget) (*client.Share, error) {
	k := t.addr + "/" + strings.ToLower(t.share)
	if sh, ok := c.shares[k]; ok {
		return sh, nil
	}
	s, err := c.session(ctx, t.addr)
	if err != nil {
		return nil, err
	}
	sh, err := s.Mount(ctx, t.share)
	if err != nil {
		return nil, fmt.Errorf("mount //%s/%s: %w", t.addr, t.share, err)
	}
	sh = sh.WithContext(ctx)
	c.shares[k] = sh
	return sh, nil
}

// close unmounts and logs off everything.
func (c *connections) close() {
	for _, sh := range c.shares {
		sh.Umount()
	}
	for _, s := range c.sessions {
		s.Close()
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
