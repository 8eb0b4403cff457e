package policy

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits bound every resource a client can make the server hold (the
// [limits] table). It has exactly the fields of server.Limits, in the same
// order, so that cmd/signet converts one into the other with a plain type
// conversion: a field added on one side only stops the build. Values are
// effective: a key the file omits holds its default (DefaultLimits), and
// Unlimited means no limit (for AuthFailureDelay: no delay), as a negative
// value does in server.Limits. See server.Limits for what each field caps.
type Limits struct {
	MaxConnections        int
	MaxConnectionsPerAddr int
	MaxSessionsPerConn    int
	MaxChannelsPerSession int
	MaxOpensPerSession    int
	MaxOpens              int
	MaxAsyncPerConn       int
	MaxLocksPerOpen       int
	MaxLocksPerFile       int
	MaxPipeOutput         int
	MaxReadBytesPending   int
	MaxCredits            int
	MaxPDUBeforeNegotiate int
	MaxPDUBeforeSession   int
	PreAuthTimeout        time.Duration
	IdleTimeout           time.Duration
	WriteTimeout          time.Duration
	MaxSearchPattern      int
	AuthFailureDelay      time.Duration
	RevalidateInterval    time.Duration
}

// Unlimited is the value of a limit set to "unlimited" (and of
// auth_failure_delay = "0s", no delay).
const Unlimited = -1

// DefaultLimits returns the values of the keys a [limits] table omits.
// They are a copy of server.DefaultLimits, where the reasons are; a test
// in cmd/signet fails when the two differ.
func DefaultLimits() Limits {
	return Limits{
		MaxConnections:        4096,
		MaxConnectionsPerAddr: 256,
		MaxSessionsPerConn:    64,
		MaxChannelsPerSession: 32,
		MaxOpensPerSession:    16384,
		MaxOpens:              65536,
		MaxAsyncPerConn:       512,
		MaxLocksPerOpen:       4096,
		MaxLocksPerFile:       16384,
		MaxPipeOutput:         1 << 20,
		MaxReadBytesPending:   64 << 20,
		MaxCredits:            8192,
		MaxPDUBeforeNegotiate: 4 << 10,
		MaxPDUBeforeSession:   64 << 10,
		PreAuthTimeout:        60 * time.Second,
		IdleTimeout:           15 * time.Minute,
		WriteTimeout:          60 * time.Second,
		MaxSearchPattern:      1024,
		AuthFailureDelay:      2 * time.Second,
		RevalidateInterval:    30 * time.Second,
	}
}

// Bounds of [limits] values that are not counts of any size.
const (
	maxCount = math.MaxInt32
	// A credit count is 16 bits on the wire [MS-SMB2 2.2.1].
	maxCredits = 65535
	// The largest PDU the 3-byte Direct TCP length can carry [MS-SMB2 2.1].
	maxPDU = 1<<24 - 1
	// The smallest NEGOTIATE request: 64-byte header [MS-SMB2 2.2.1],
	// 36-byte body and one 2-byte dialect [MS-SMB2 2.2.3].
	minNegotiatePDU = 64 + 36 + 2
	// The smallest SESSION_SETUP request: header and the 24 fixed bytes
	// of the body, empty security buffer [MS-SMB2 2.2.5].
	minSessionPDU = 64 + 24
	// One DCE/RPC fragment of the size Signet, as Windows, negotiates on
	// named pipes (internal/dcerpc).
	minPipeOutput = 4280
	// One READ of the largest size a 2.0.2 client may ask for
	// [MS-SMB2 3.3.5.4].
	minReadBytesPending = 64 << 10
	// Windows' InvalidAuthenticationDelayTimeInMs range is 0 to 10000.
	maxAuthFailureDelay = 10 * time.Second
	minTimeout          = time.Second
)

// limitKind is how a [limits] value is written.
type limitKind uint8

const (
	limitCount    limitKind = iota // an integer
	limitBytes                     // an integer number of bytes
	limitDuration                  // a Go duration string such as "60s"
)

// limitSpec describes one [limits] key.
type limitSpec struct {
	key   string // in the file, under [limits]
	field string // of Limits (and server.Limits)
	kind  limitKind
	// min and max bound the value (nanoseconds for durations).
	min, max int64
	// unlimited accepts the string "unlimited" (stored as Unlimited).
	unlimited bool
	// zeroOff accepts 0, meaning off (stored as Unlimited).
	zeroOff bool
	note    string // for Show
}

func count(key, field, note string) limitSpec {
	return limitSpec{key: key, field: field, kind: limitCount, min: 1, max: maxCount, unlimited: true, note: note}
}

func size(key, field string, min int64, note string) limitSpec {
	return limitSpec{key: key, field: field, kind: limitBytes, min: min, max: maxCount, unlimited: true, note: note}
}

func pdu(key, field string, min int64, note string) limitSpec {
	return limitSpec{key: key, field: field, kind: limitBytes, min: min, max: maxPDU, note: note}
}

func timeout(key, field string, unlimited bool, note string) limitSpec {
	return limitSpec{key: key, field: field, kind: limitDuration, min: int64(minTimeout), max: math.MaxInt64,
		unlimited: unlimited, note: note}
}

// limitSpecs lists the [limits] keys in server.Limits order.
func limitSpecs() []limitSpec {
	return []limitSpec{
		count("max_connections", "MaxConnections", "TCP connections, server-wide"),
		count("max_connections_per_addr", "MaxConnectionsPerAddr", "TCP connections from one client IP"),
		count("max_sessions_per_conn", "MaxSessionsPerConn", "sessions on one connection"),
		count("max_channels_per_session", "MaxChannelsPerSession", "connections bound to one session (multichannel)"),
		count("max_opens_per_session", "MaxOpensPerSession", "open files, folders and pipes per session"),
		count("max_opens", "MaxOpens", "open files, folders and pipes, server-wide"),
		count("max_async_per_conn", "MaxAsyncPerConn", "pending async requests per connection"),
		count("max_locks_per_open", "MaxLocksPerOpen", "byte-range locks per open"),
		count("max_locks_per_file", "MaxLocksPerFile", "byte-range locks per file"),
		size("max_pipe_output", "MaxPipeOutput", minPipeOutput, "bytes a named pipe queues"),
		size("max_read_bytes_pending", "MaxReadBytesPending", minReadBytesPending, "READ bytes not yet sent, per connection"),
		{key: "max_credits", field: "MaxCredits", kind: limitCount, min: 1, max: maxCredits,
			note: "credits a connection may hold"},
		pdu("max_pdu_before_negotiate", "MaxPDUBeforeNegotiate", minNegotiatePDU, "PDU bytes before NEGOTIATE"),
		pdu("max_pdu_before_session", "MaxPDUBeforeSession", minSessionPDU, "PDU bytes before the first session"),
		timeout("pre_auth_timeout", "PreAuthTimeout", true, "from accept to the first session"),
		timeout("idle_timeout", "IdleTimeout", true, "idle connection without opens (autodisconnect)"),
		timeout("write_timeout", "WriteTimeout", true, "client not reading its responses"),
		count("max_search_pattern", "MaxSearchPattern", "characters in a QUERY_DIRECTORY pattern"),
		{key: "auth_failure_delay", field: "AuthFailureDelay", kind: limitDuration, min: 0,
			max: int64(maxAuthFailureDelay), zeroOff: true, note: "answer delay after a failed logon"},
		timeout("revalidate_interval", "RevalidateInterval", false, "sessions checked against the users file"),
	}
}

// get and set access the field of l the spec configures.
func (s limitSpec) get(l *Limits) int64 { return reflect.ValueOf(l).Elem().FieldByName(s.field).Int() }

func (s limitSpec) set(l *Limits, v int64) { reflect.ValueOf(l).Elem().FieldByName(s.field).SetInt(v) }

// limits parses the [limits] table; absent keys keep DefaultLimits.
func (p *parser) limits(raw map[string]any) {
	p.cfg.Limits = DefaultLimits()
	// The decoder drops a non-table "limits" without a word.
	if t := p.md.Type("limits"); t != "" && t != "Hash" {
		p.fail("limits", "must be a table: write [limits], then one key = value per line")
		return
	}
	known := map[string]bool{}
	for _, s := range limitSpecs() {
		known[s.key] = true
		v, ok := raw[s.key]
		if !ok {
			continue
		}
		key := "limits." + s.key
		p.cfg.explicit[key] = true
		n, err := s.parse(v)
		if err != nil {
			p.fail(key, "%v", err)
			continue
		}
		s.set(&p.cfg.Limits, n)
	}
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		p.unknownKey("limits." + k)
	}
}

// parse checks one value from the file and returns what Limits stores.
func (s limitSpec) parse(v any) (int64, error) {
	if str, ok := v.(string); ok && strings.EqualFold(str, "unlimited") {
		if !s.unlimited {
			return 0, fmt.Errorf("cannot be \"unlimited\"; want %s", s.rangeText())
		}
		return Unlimited, nil
	}
	var n int64
	var err error
	if s.kind == limitDuration {
		n, err = durationValue(v)
	} else {
		n, err = integerValue(v, s.kind)
	}
	switch {
	case err != nil:
		return 0, err
	case n == 0 && s.zeroOff:
		return Unlimited, nil
	case n < s.min || n > s.max:
		return 0, fmt.Errorf("%s is out of range: want %s (default %s)", s.formatRaw(n), s.rangeText(), s.format(s.get(new(DefaultLimits()))))
	}
	return n, nil
}

func integerValue(v any, kind limitKind) (int64, error) {
	n, ok := v.(int64)
	if ok {
		return n, nil
	}
	if kind == limitBytes {
		return 0, fmt.Errorf("want an integer number of bytes, got %s", describeValue(v))
	}
	return 0, fmt.Errorf("want an integer, got %s", describeValue(v))
}

func durationValue(v any) (int64, error) {
	str, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a duration such as \"60s\" or \"15m\", got %s", describeValue(v))
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as \"60s\" or \"15m\", got %q", str)
	}
	return int64(d), nil
}

// describeValue names a decoded TOML value in errors.
func describeValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case int64:
		return "the number " + strconv.FormatInt(v, 10)
	case float64:
		return "the number " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date"
	}
}

// rangeText says which values the key accepts.
func (s limitSpec) rangeText() string {
	var r string
	switch {
	case s.zeroOff:
		r = fmt.Sprintf("%q (no delay) to %q", "0s", s.formatRaw(s.max))
	case s.max == math.MaxInt64:
		r = fmt.Sprintf("%q or more", s.formatRaw(s.min))
	case s.kind == limitDuration:
		r = fmt.Sprintf("%q to %q", s.formatRaw(s.min), s.formatRaw(s.max))
	default:
		r = fmt.Sprintf("%d to %d", s.min, s.max)
	}
	if s.unlimited {
		r += `, or "unlimited"`
	}
	return r
}

// format renders a stored value as the file would write it.
func (s limitSpec) format(n int64) string {
	switch {
	case n == Unlimited && s.zeroOff:
		return "0s"
	case n == Unlimited:
		return "unlimited"
	}
	return s.formatRaw(n)
}

// formatRaw renders a number or a duration in nanoseconds.
func (s limitSpec) formatRaw(n int64) string {
	if s.kind == limitDuration {
		return formatDuration(time.Duration(n))
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration drops zero trailing units: "15m", "1h", "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// showNote is the Show remark for the value n.
func (s limitSpec) showNote(n int64) string {
	switch {
	case n == Unlimited && s.zeroOff:
		return s.note + "; no delay"
	case s.kind == limitBytes && formatBytes(n) != "":
		return s.note + "; " + formatBytes(n)
	}
	return s.note
}

// formatBytes renders n in the largest binary unit that divides it, or
// returns "" when none does.
func formatBytes(n int64) string {
	if n <= 0 {
		return ""
	}
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return ""
}

// limitSettings lists the effective limits for Show.
func (c *Config) limitSettings() []Setting {
	var out []Setting
	for _, s := range limitSpecs() {
		n := s.get(&c.Limits)
		out = append(out, c.scalar("limits."+s.key, s.format(n), s.showNote(n)))
	}
	return out
}
