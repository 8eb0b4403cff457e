package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/signetsmb/signet/auth"
)

// Sources of an effective value, as reported by Config.Show and in
// Config.RequireSigningSource.
const (
	// SourceExplicit: the key was set in the configuration file.
	SourceExplicit = "explicit"
	// SourceBuiltin: the key was absent and Signet's built-in default applies.
	SourceBuiltin = "built-in default"
	// SourceNotSet: an ignored (SMBv1-only) key that was not set.
	SourceNotSet = "not set"
)

// roleSource is the source string of a value taken from the role table,
// e.g. "role default (domain-controller)".
func roleSource(r Role) string { return fmt.Sprintf("role default (%s)", r) }

// Config is one validated, immutable configuration snapshot. Values are
// effective: defaults are filled in and relative paths are absolute. A
// Config handed out by Load, Parse, LoadDefault or Store.Current must not
// be modified (including its slices); build a new one instead.
type Config struct {
	// Path is the absolute path of the file the snapshot was loaded from,
	// or "" when it was parsed from memory (for example the embedded
	// default). Store.Reload re-reads this file.
	Path string
	// Name names the source in messages: the path as given, or a label
	// such as "built-in default config".
	Name string

	// Listen is the host:port to listen on (server.listen).
	Listen string
	// Role is the server role (server.role).
	Role Role
	// RequireSigning is "Microsoft network server: Digitally sign
	// communications (always)" (RequireSecuritySignature): the server
	// requires signing on every non-guest, non-anonymous session.
	RequireSigning bool
	// AuditSigning is require_signing = "audit": signing is not required
	// (RequireSigning is false), but every session that "true" would
	// refuse is recorded once as an audit event, so that the clients that
	// would break can be found before signing is required.
	AuditSigning bool
	// AuditMinDialect and AuditMinSigning are the floors checked under
	// AuditSigning (server.audit_min_dialect,
	// server.audit_min_signing_algorithm): a session below them is
	// recorded. Zero AuditMinDialect and HMAC-SHA256 mean no floor.
	AuditMinDialect Dialect
	AuditMinSigning SigningAlgorithm
	// RequireSigningSource says where RequireSigning came from: SourceExplicit
	// or "role default (<role>)".
	RequireSigningSource string
	// ClientRequireSigning is "Microsoft network client: Digitally sign
	// communications (always)" for Signet's client (client.require_signing).
	ClientRequireSigning bool
	// UsersFile is the absolute path of the users file (server.users_file).
	UsersFile string
	// ServerName and Domain are the NetBIOS computer and domain names
	// announced in NTLM target info, upper-cased.
	ServerName string
	Domain     string
	// MinDialect and MaxDialect bound the dialects the server offers.
	MinDialect Dialect
	MaxDialect Dialect
	// SigningAlgorithms is the SMB 3.1.1 signing preference order, most
	// preferred first.
	SigningAlgorithms []SigningAlgorithm
	// AllowAnonymous permits anonymous (null) sessions. Such sessions cannot
	// sign, so the server refuses them anyway while RequireSigning is true.
	AllowAnonymous bool
	// MaxSessions caps established sessions server-wide; 0 means unlimited.
	MaxSessions int
	// Multichannel offers SMB 3 multichannel (server.multichannel,
	// default true): clients may bind further connections to a session.
	Multichannel bool
	// Interfaces, when set ([[interface]]), replace the interfaces the
	// server finds on the machine in FSCTL_QUERY_NETWORK_INTERFACE_INFO.
	Interfaces []Interface
	// EncryptData encrypts every session that can encrypt
	// (server.encrypt_data).
	EncryptData bool
	// RejectUnencryptedAccess refuses clients that cannot encrypt on
	// encrypted shares with ACCESS_DENIED (default true, as Windows).
	RejectUnencryptedAccess bool
	// Ciphers is the SMB 3.1.1 encryption preference order.
	Ciphers []Cipher
	// Limits bound what clients can make the server hold ([limits]).
	Limits Limits
	// Shares are the disk shares in file order.
	Shares []Share

	// AdminSocket is the absolute path of the local admin socket
	// (server.admin_socket) through which `signet status`, `signet policy
	// set`, `signet audit report` and `signet sessions close` reach the
	// running server; "" disables it.
	AdminSocket string
	// WatchConfig reloads the file when it changes (server.watch_config,
	// default true); without it only SIGHUP and `signet policy set` do.
	WatchConfig bool
	// MetricsListen is the HOST:PORT of the Prometheus endpoint
	// (metrics.listen, path /metrics); "" disables it.
	MetricsListen string
	// LogFormat is "text" or "json" (log.format); LogLevel is "debug",
	// "info", "warn" or "error" (log.level).
	LogFormat, LogLevel string
	// NTLM enables NTLM logons (server.ntlm, default true); false refuses
	// them, like Windows' "Restrict NTLM: Incoming NTLM traffic".
	NTLM bool
	// AuthOrder is server.auth_order, the SPNEGO offer order.
	AuthOrder []string
	// AuthMechanisms are the mechanisms in effect, in AuthOrder: those
	// listed that are enabled (Kerberos needs [kerberos], NTLM ntlm = true).
	AuthMechanisms []string
	// Kerberos is [kerberos]; nil when absent (Kerberos off).
	Kerberos *Kerberos
	// Cluster is [cluster]; nil when absent (a single server).
	Cluster *Cluster

	// ServerEnableSecuritySignature and ClientEnableSecuritySignature
	// record the SMBv1-only "Digitally sign communications (if client
	// agrees / if server agrees)" settings. They are accepted for
	// compatibility with Windows policy exports and have no effect.
	ServerEnableSecuritySignature Ignored
	ClientEnableSecuritySignature Ignored

	// explicit holds the keys ("server.role", ...) set in the file.
	explicit map[string]bool
	warnings []Warning
	// allowUnknown: loaded with LoadAllowUnknown; reloads keep it.
	allowUnknown bool
}

// Ignored is a setting that is accepted but has no effect.
type Ignored struct {
	Set   bool // the key was present
	Value bool // its value when Set
}

// Share is one disk share.
type Share struct {
	Name     string
	Path     string // absolute; an existing directory at load time
	ReadOnly bool
	Comment  string
	// Users may connect to the share; empty allows every authenticated
	// user. Names denote accounts of the users file: they compare under
	// auth.FoldName (see AllowsUser).
	Users []string
	// EncryptData requires encryption on the share
	// (SMB2_SHAREFLAG_ENCRYPT_DATA).
	EncryptData bool
}

// AllowsUser reports whether the account named user (a name as typed, or
// an account ID) may connect to the share. Both sides are folded with
// auth.FoldName, the users file's account identity, and compared exactly:
// not with strings.EqualFold, under which U+212A KELVIN SIGN + "ate"
// would pass users = ["kate"].
func (s *Share) AllowsUser(user string) bool {
	if len(s.Users) == 0 {
		return true
	}
	id := auth.FoldName(user)
	for _, u := range s.Users {
		if user != "" && auth.FoldName(u) == id {
			return true
		}
	}
	return false
}

// Share returns the share with the given name (case-insensitive).
func (c *Config) Share(name string) (Share, bool) {
	for _, s := range c.Shares {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Share{}, false
}

// Warnings returns the warnings produced when the snapshot was parsed.
func (c *Config) Warnings() []Warning {
	return append([]Warning(nil), c.warnings...)
}

// Warning is a non-fatal finding about a configuration file.
type Warning struct {
	File    string // Config.Name of the file
	Key     string // e.g. "server.enable_security_signature"
	Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: %s: %s", w.File, w.Key, w.Message)
}

// FieldError is a configuration error. Load and Parse return one, or
// several joined with errors.Join; use errors.As to inspect the first.
type FieldError struct {
	File    string // Config.Name of the file
	Line    int    // 1-based line, when known (syntax and type errors); else 0
	Key     string // e.g. "share[1].path"; "" for file-level errors
	Message string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Interface is one [[interface]] entry.
type Interface struct {
	Index     uint32
	Addresses []netip.Addr
	Speed     uint64 // bits per second
	RSS, RDMA bool
}
