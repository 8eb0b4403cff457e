package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/signetsmb/signet/internal/fileperm"
)

// Built-in defaults for keys a file omits.
const (
	defaultListen     = ":445"
	defaultRole       = RoleStandalone
	defaultUsersFile  = "users"
	defaultDomain     = "WORKGROUP"
	defaultServerName = "SIGNET" // when the host name is unusable
	defaultMinDialect = Dialect202
	defaultMaxDialect = Dialect311
	defaultClientSign = true
)

// Limits from Windows naming rules.
const (
	maxNetBIOSName = 15
	maxShareName   = 80
)

// rawConfig mirrors the file layout; see the package documentation.
type rawConfig struct {
	Server rawServer  `toml:"server"`
	Client rawClient  `toml:"client"`
	Share  []rawShare `toml:"share"`
	// Interface overrides the network interfaces reported to multichannel
	// clients.
	Interface []rawInterface `toml:"interface"`
	// Kerberos is [kerberos]; see kerberos.go.
	Kerberos rawKerberos `toml:"kerberos"`
	// Cluster is [cluster]; see cluster.go.
	Cluster rawCluster `toml:"cluster"`
	// Limits is checked key by key against limitSpecs.
	Limits map[string]any `toml:"limits"`
	// Metrics and Log are the operations tables (ops.go).
	Metrics rawMetrics `toml:"metrics"`
	Log     rawLog     `toml:"log"`
}

type rawServer struct {
	Listen                  string       `toml:"listen"`
	RequireSigning          signingValue `toml:"require_signing"`
	AdminSocket             string       `toml:"admin_socket"`
	WatchConfig             bool         `toml:"watch_config"`
	AuditMinDialect         string       `toml:"audit_min_dialect"`
	AuditMinSigning         string       `toml:"audit_min_signing_algorithm"`
	Role                    string       `toml:"role"`
	UsersFile               string       `toml:"users_file"`
	EnableSecuritySignature bool         `toml:"enable_security_signature"`
	ServerName              string       `toml:"server_name"`
	Domain                  string       `toml:"domain"`
	MinDialect              string       `toml:"min_dialect"`
	MaxDialect              string       `toml:"max_dialect"`
	SigningAlgorithms       []string     `toml:"signing_algorithms"`
	AllowAnonymous          bool         `toml:"allow_anonymous"`
	MaxSessions             int64        `toml:"max_sessions"`
	NTLM                    bool         `toml:"ntlm"`
	AuthOrder               []string     `toml:"auth_order"`
	Multichannel            bool         `toml:"multichannel"`
	EncryptData             bool         `toml:"encrypt_data"`
	RejectUnencryptedAccess bool         `toml:"reject_unencrypted_access"`
	Ciphers                 []string     `toml:"ciphers"`
}

// rawInterface is one [[interface]] table: what
// FSCTL_QUERY_NETWORK_INTERFACE_INFO reports to multichannel clients.
type rawInterface struct {
	Addresses []string `toml:"addresses"`
	Speed     string   `toml:"speed"`
	RSS       bool     `toml:"rss"`
	RDMA      bool     `toml:"rdma"`
	Index     int64    `toml:"index"`
}

type rawClient struct {
	RequireSigning          bool `toml:"require_signing"`
	EnableSecuritySignature bool `toml:"enable_security_signature"`
}

type rawShare struct {
	Name     string   `toml:"name"`
	Path     string   `toml:"path"`
	ReadOnly bool     `toml:"read_only"`
	Comment  string   `toml:"comment"`
	Users    []string `toml:"users"`
	// EncryptData is SMB2_SHAREFLAG_ENCRYPT_DATA.
	EncryptData bool `toml:"encrypt_data"`
}

// scalarKeys are the keys whose presence is recorded for Show.
func scalarKeys() []string {
	return []string{
		"server.listen", "server.require_signing", "server.role",
		"server.users_file", "server.enable_security_signature",
		"server.server_name", "server.domain", "server.min_dialect",
		"server.max_dialect", "server.signing_algorithms", "server.multichannel",
		"server.allow_anonymous", "server.max_sessions",
		"server.encrypt_data", "server.reject_unencrypted_access", "server.ciphers",
		"client.require_signing", "client.enable_security_signature",
		"server.admin_socket", "server.watch_config", "server.audit_min_dialect", "server.audit_min_signing_algorithm", "metrics.listen", "log.format", "log.level",
	}
}

// env is what parsing needs from the operating system.
type env struct {
	hostname func() (string, error)
	stat     func(string) (fs.FileInfo, error)
}

func osEnv() env { return env{hostname: os.Hostname, stat: os.Stat} }

// Load reads and validates the configuration file at path. Relative paths
// inside it resolve against the file's folder. Warnings are returned even
// when err is non-nil.
func Load(path string) (*Config, []Warning, error) {
	return loadFile(path, path, osEnv(), false)
}

// LoadAllowUnknown is Load for a file that may carry keys this version
// does not know (written for a newer Signet): they are warnings, not
// errors (`signet serve --allow-unknown`). Reloads of the snapshot keep
// allowing them.
func LoadAllowUnknown(path string) (*Config, []Warning, error) {
	return loadFile(path, path, osEnv(), true)
}

func loadFile(path, name string, e env, allowUnknown bool) (*Config, []Warning, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, &FieldError{File: name, Message: err.Error()}
	}
	data, err := readTrusted(abs)
	if err != nil {
		return nil, nil, &FieldError{File: name, Message: err.Error()}
	}
	c, warns, err := parse(data, filepath.Dir(abs), name, e, allowUnknown)
	if c != nil {
		c.Path = abs
	}
	return c, warns, err
}

// configFileRules: a configuration decides what the server shares with
// whom, so only its owner, root or the server's account, may change it.
var configFileRules = fileperm.Rules{What: "config file", CheckOwner: true, CheckDir: true}

// readTrusted reads the configuration file after checking, on the open
// file, that no one but root or this server can change it.
func readTrusted(abs string) ([]byte, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %v", unwrapPathError(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %v", unwrapPathError(err))
	}
	if err := fileperm.Check(abs, fi, configFileRules); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %v", unwrapPathError(err))
	}
	return data, nil
}

// unwrapPathError drops the path from *fs.PathError, which callers already name.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse validates configuration text. dir is the folder relative paths
// resolve against; name labels the source in errors and warnings. The
// returned Config has an empty Path, so Store.Reload leaves it alone.
func Parse(data []byte, dir string, name string) (*Config, []Warning, error) {
	return parse(data, dir, name, osEnv(), false)
}

func parse(data []byte, dir, name string, e env, allowUnknown bool) (*Config, []Warning, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, &FieldError{File: name, Message: fmt.Sprintf("config folder %q: %v", dir, err)}
	}
	var raw rawConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, nil, decodeError(name, err)
	}
	p := &parser{name: name, dir: absDir, md: md, env: e, allowUnknown: allowUnknown,
		cfg: &Config{Name: name, explicit: map[string]bool{}, allowUnknown: allowUnknown}}
	p.run(&raw)
	if len(p.errs) > 0 {
		return nil, p.warns, joinErrors(p.errs)
	}
	p.cfg.warnings = p.warns
	return p.cfg, p.Warnings(), nil
}

// decodeError turns a TOML syntax or type error into a FieldError.
func decodeError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &FieldError{File: name, Line: pe.Position.Line, Key: pe.LastKey, Message: pe.Message}
	}
	// Type errors are plain errors shaped
	// `toml: line N (last key "a.b"): message`.
	re := regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (?s:(.*))$`)
	m := re.FindStringSubmatch(err.Error())
	if m == nil {
		return &FieldError{File: name, Message: strings.TrimPrefix(err.Error(), "toml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return &FieldError{File: name, Line: line, Key: m[2], Message: m[3]}
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// parser turns a decoded file into a Config, collecting every error.
type parser struct {
	name string
	dir  string
	md   toml.MetaData
	env  env
	// allowUnknown makes unknown keys warnings instead of errors.
	allowUnknown bool
	cfg          *Config
	errs         []error
	warns        []Warning
}

func (p *parser) Warnings() []Warning { return append([]Warning(nil), p.warns...) }

func (p *parser) fail(key, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.name, Key: key, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(key, format string, args ...any) {
	p.warns = append(p.warns, Warning{File: p.name, Key: key, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) set(key string) bool { return p.cfg.explicit[key] }

func (p *parser) run(raw *rawConfig) {
	for _, k := range append(append(scalarKeys(), authKeys()...), clusterKeys()...) {
		if p.md.IsDefined(strings.Split(k, ".")...) {
			p.cfg.explicit[k] = true
		}
	}
	p.unknownKeys()
	p.listen(raw.Server.Listen)
	p.role(raw.Server.Role)
	p.requireSigning(raw.Server.RequireSigning)
	p.usersFile(raw.Server.UsersFile)
	p.serverName(raw.Server.ServerName)
	p.domain(raw.Server.Domain)
	p.dialects(raw.Server.MinDialect, raw.Server.MaxDialect)
	p.algorithms(raw.Server.SigningAlgorithms)
	p.anonymous(raw.Server.AllowAnonymous)
	p.maxSessions(raw.Server.MaxSessions)
	p.multichannel(raw.Server.Multichannel, raw.Interface)
	p.auth(raw)
	p.cluster(raw.Cluster)
	p.encryption(raw.Server)
	p.client(raw.Client)
	p.smb1Only(raw)
	p.limits(raw.Limits)
	p.shares(raw.Share)
	p.adminSocket(raw.Server.AdminSocket)
	p.cfg.WatchConfig = !p.set("server.watch_config") || raw.Server.WatchConfig
	p.auditFloors(raw.Server.AuditMinDialect, raw.Server.AuditMinSigning)
	p.metrics(raw.Metrics)
	p.logging(raw.Log)
}

// unknownKeys warns once per unknown key, not for each key below it.
// Keys under [limits] are reported by limits.
func (p *parser) unknownKeys() {
	reported := map[string]bool{}
	for _, k := range p.md.Undecoded() {
		if len(k) > 1 && k[0] == "limits" {
			continue
		}
		if len(k) > 1 && reported[toml.Key(k[:len(k)-1]).String()] {
			reported[k.String()] = true
			continue
		}
		reported[k.String()] = true
		p.unknownKey(k.String())
	}
}

func (p *parser) usersFile(v string) {
	const key = "server.users_file"
	if !p.set(key) {
		v = defaultUsersFile
	} else if v == "" {
		p.fail(key, "must not be empty")
		return
	}
	p.cfg.UsersFile = p.resolve(v)
}

// resolve makes a path from the file absolute, relative to its folder.
func (p *parser) resolve(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(p.dir, path)
}
