package wiretap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Counts tallies the signature state of messages.
type Counts struct {
	Valid    int // SIGNED, signature verifies
	Invalid  int // SIGNED, signature does not verify
	NoKey    int // SIGNED, no key to check it
	Unsigned int // SIGNED not set
}

// Total returns the number of messages counted.
func (c Counts) Total() int { return c.Valid + c.Invalid + c.NoKey + c.Unsigned }

// Signed returns the number of messages carrying SMB2_FLAGS_SIGNED.
func (c Counts) Signed() int { return c.Valid + c.Invalid + c.NoKey }

// String formats the counts, e.g. "12 valid, 0 invalid, 0 no-key, 3 unsigned".
func (c Counts) String() string {
	return fmt.Sprintf("%d valid, %d invalid, %d no-key, %d unsigned", c.Valid, c.Invalid, c.NoKey, c.Unsigned)
}

func (c *Counts) add(m *Message) {
	switch {
	case !m.Signed:
		c.Unsigned++
	case m.SigValid == Valid:
		c.Valid++
	case m.SigValid == Invalid:
		c.Invalid++
	default:
		c.NoKey++
	}
}

func (c Counts) plus(o Counts) Counts {
	return Counts{c.Valid + o.Valid, c.Invalid + o.Invalid, c.NoKey + o.NoKey, c.Unsigned + o.Unsigned}
}

// SessionReport describes one session (or channel binding) set up, or
// attempted, on a connection.
type SessionReport struct {
	SessionID    uint64
	User, Domain string // from the NTLM AUTHENTICATE, when seen
	// Binding marks a channel binding of an existing session (3.x
	// multichannel) rather than a new session.
	Binding bool
	// Established is set once a SESSION_SETUP response returned
	// STATUS_SUCCESS; Status is the final status (zero while in progress).
	Established bool
	Status      ntstatus.Status
	// SessionFlags of the final response.
	Guest, Anonymous, EncryptData bool
	// SigningRequired: the client set SIGNING_REQUIRED in a SESSION_SETUP
	// request's SecurityMode.
	SigningRequired bool
	// KeyKnown: the tap reconstructed the signing key. KeyNote says why
	// not otherwise.
	KeyKnown bool
	KeyNote  string
	// SetupSigned and SetupSig describe the final SESSION_SETUP response,
	// which MS-SMB2 signs with the new key for non-guest, non-anonymous
	// users (3.1.1 clients require it) [MS-SMB2 3.3.5.5.3, 3.2.5.3.1].
	SetupSigned bool
	SetupSig    SigStatus
	// LoggedOff is set after a successful LOGOFF response.
	LoggedOff bool
}

// ConnReport summarizes one proxied connection.
type ConnReport struct {
	Conn                   int
	ClientAddr, ServerAddr string
	// SMB1Negotiate: the client opened with an SMB1 NEGOTIATE.
	SMB1Negotiate bool
	// Dialect is DialectRevision of the last SMB2 NEGOTIATE response (0 if
	// none was seen).
	Dialect uint16
	// SigningAlgorithm is in force when SigningAlgorithmKnown is set:
	// HMAC-SHA256 for 2.x, AES-CMAC for 3.0/3.0.2, and for 3.1.1 the
	// SIGNING_CAPABILITIES choice (AES-CMAC without one).
	SigningAlgorithm      smbcrypto.Algorithm
	SigningAlgorithmKnown bool
	// Cipher is the 3.1.1 ENCRYPTION_CAPABILITIES choice (0 if none).
	Cipher uint16
	// SecurityMode of the NEGOTIATE request and response (bit 0x02 =
	// SIGNING_REQUIRED).
	ClientSecurityMode, ServerSecurityMode uint16
	Sessions                               []SessionReport
	// Requests and Responses count ClassCounted messages, Cancels the
	// CANCEL requests of established sessions.
	Requests, Responses, Cancels Counts
	// Classes and Kinds count every recorded message.
	Classes map[Class]int
	Kinds   map[Kind]int
	// Errors lists transport and parse problems.
	Errors []string
}

// SessionSetUp reports whether any session was established on the
// connection.
func (c *ConnReport) SessionSetUp() bool {
	for i := range c.Sessions {
		if c.Sessions[i].Established {
			return true
		}
	}
	return false
}

// Report summarizes everything the tap has seen (or, from ReportFor, a
// subset of it).
type Report struct {
	Conns []ConnReport

	// examples holds up to maxExamples descriptions of counted messages
	// per outcome, for Verdict.
	examples map[string][]string
}

const maxExamples = 3

// Report returns a summary of the traffic so far.
func (t *Tap) Report() Report { return t.ReportFor(nil) }

// ReportFor is Report restricted to the messages keep accepts (nil keeps
// all): the counts, Classes, Kinds and Verdict cover only those, while the
// connection and session details are complete. Messages keep the class the
// tap gave them, so exempt messages stay exempt. For example, to judge only
// file traffic (3.1.1 signs TREE_CONNECT whatever the policy):
//
//	rep := tap.ReportFor(func(m *wiretap.Message) bool {
//		return m.Cmd >= wire.CmdCreate && m.Cmd != wire.CmdIoctl
//	})
func (t *Tap) ReportFor(keep func(m *Message) bool) Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Report{examples: map[string][]string{}}
	byConn := make(map[int]*ConnReport, len(t.conns))
	r.Conns = make([]ConnReport, len(t.conns))
	for i, c := range t.conns {
		cr := &r.Conns[i]
		*cr = ConnReport{
			Conn: c.id, ClientAddr: c.clientAddr, ServerAddr: c.serverAddr,
			SMB1Negotiate: c.smb1, Dialect: c.dialect,
			SigningAlgorithm: c.alg, SigningAlgorithmKnown: c.algOK, Cipher: c.cipher,
			ClientSecurityMode: c.clientSecMode, ServerSecurityMode: c.serverSecMode,
			Classes: map[Class]int{}, Kinds: map[Kind]int{},
			Errors: slices.Clone(c.errs),
		}
		if c.errsLost > 0 {
			cr.Errors = append(cr.Errors, fmt.Sprintf("(%d more)", c.errsLost))
		}
		for _, s := range c.history {
			cr.Sessions = append(cr.Sessions, s.rep)
		}
		byConn[c.id] = cr
	}
	for i := range t.msgs {
		m := &t.msgs[i]
		cr := byConn[m.Conn]
		if cr == nil || keep != nil && !keep(m) {
			continue
		}
		cr.Classes[m.Class]++
		cr.Kinds[m.Kind]++
		switch {
		case m.Class == ClassCancel:
			cr.Cancels.add(m)
		case m.Class != ClassCounted:
		case m.Dir == ClientToServer:
			cr.Requests.add(m)
			r.example(m)
		default:
			cr.Responses.add(m)
			r.example(m)
		}
	}
	return r
}

func (r *Report) example(m *Message) {
	key := "unsigned"
	if m.Signed {
		key = m.SigValid.String()
	}
	if len(r.examples[key]) < maxExamples {
		r.examples[key] = append(r.examples[key], m.String())
	}
}

// Requests returns the counted requests of all connections.
func (r Report) Requests() Counts {
	var c Counts
	for i := range r.Conns {
		c = c.plus(r.Conns[i].Requests)
	}
	return c
}

// Responses returns the counted responses of all connections.
func (r Report) Responses() Counts {
	var c Counts
	for i := range r.Conns {
		c = c.plus(r.Conns[i].Responses)
	}
	return c
}

// Cancels returns the CANCEL requests of established sessions.
func (r Report) Cancels() Counts {
	var c Counts
	for i := range r.Conns {
		c = c.plus(r.Conns[i].Cancels)
	}
	return c
}

// Sessions returns the session reports of all connections.
func (r Report) Sessions() []SessionReport {
	var out []SessionReport
	for i := range r.Conns {
		out = append(out, r.Conns[i].Sessions...)
	}
	return out
}

// Verdict judges the traffic of established sessions (ClassCounted: every
// request and response after SESSION_SETUP succeeded, except STATUS_PENDING
// interim responses, oplock/lease breaks, CANCEL and SessionId 0; the final
// SESSION_SETUP response is judged separately in SessionReport):
//
//   - "signed": every such message carries SMB2_FLAGS_SIGNED and a valid
//     signature;
//   - "not signed": none carries SMB2_FLAGS_SIGNED;
//   - "unverified: ...": every message is signed but some could not be
//     checked because the tap has no key (wrong password, Kerberos, guest);
//     the reasons follow;
//   - "mixed: ...": anything else, with counts and example messages;
//   - "no session traffic": there is no such message (with the number of
//     encrypted frames, if any: their content is not decrypted).
//
// A session that does not require signing still legitimately carries some
// signed messages (3.1.1 TREE_CONNECT, 3.0/3.0.2 VALIDATE_NEGOTIATE_INFO,
// responses to signed requests), so its verdict is usually "mixed"; check
// the Counts (e.g. Invalid == 0) or use ReportFor to judge a subset.
func (r Report) Verdict() string {
	req, resp := r.Requests(), r.Responses()
	all := req.plus(resp)
	switch {
	case all.Total() == 0:
		enc := 0
		for i := range r.Conns {
			enc += r.Conns[i].Kinds[KindEncrypted]
		}
		if enc > 0 {
			return fmt.Sprintf("no session traffic (%d encrypted frames not checked)", enc)
		}
		return "no session traffic"
	case all.Valid == all.Total():
		return "signed"
	case all.Unsigned == all.Total():
		return "not signed"
	case all.Invalid == 0 && all.Unsigned == 0:
		return fmt.Sprintf("unverified: %d of %d signed messages could not be checked (%s)",
			all.NoKey, all.Total(), strings.Join(r.keyNotes(), "; "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mixed: requests %v; responses %v", req, resp)
	for _, k := range []string{"invalid", "unsigned", "no-key", "valid"} {
		if ex := r.examples[k]; len(ex) > 0 {
			fmt.Fprintf(&b, "; %s e.g. %s", k, strings.Join(ex, " | "))
		}
	}
	if notes := r.keyNotes(); all.NoKey > 0 && len(notes) > 0 {
		fmt.Fprintf(&b, "; no key because: %s", strings.Join(notes, "; "))
	}
	return b.String()
}

// keyNotes returns the distinct reasons established sessions have no key.
func (r Report) keyNotes() []string {
	var notes []string
	for _, s := range r.Sessions() {
		if s.Established && !s.KeyKnown && s.KeyNote != "" {
			n := fmt.Sprintf("session 0x%x: %s", s.SessionID, s.KeyNote)
			if !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
		}
	}
	return notes
}

// String formats the report over several lines, for test logs.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s\n", r.Verdict())
	for i := range r.Conns {
		c := &r.Conns[i]
		fmt.Fprintf(&b, "conn %d %s -> %s:", c.Conn, c.ClientAddr, c.ServerAddr)
		if c.SMB1Negotiate {
			b.WriteString(" SMB1 negotiate,")
		}
		if c.Dialect != 0 {
			fmt.Fprintf(&b, " dialect %s", wire.DialectName(c.Dialect))
		} else {
			b.WriteString(" no dialect")
		}
		if c.SigningAlgorithmKnown {
			fmt.Fprintf(&b, ", signing %v", c.SigningAlgorithm)
		}
		if c.Cipher != 0 {
			fmt.Fprintf(&b, ", cipher %d", c.Cipher)
		}
		fmt.Fprintf(&b, ", security mode client 0x%x server 0x%x\n", c.ClientSecurityMode, c.ServerSecurityMode)
		for _, s := range c.Sessions {
			fmt.Fprintf(&b, "  session 0x%x %s\\%s:", s.SessionID, s.Domain, s.User)
			switch {
			case s.Established:
				b.WriteString(" established")
			case s.Status != 0:
				fmt.Fprintf(&b, " failed %v", s.Status)
			default:
				b.WriteString(" in progress")
			}
			for _, f := range []struct {
				on   bool
				name string
			}{{s.Binding, "binding"}, {s.Guest, "guest"}, {s.Anonymous, "anonymous"},
				{s.EncryptData, "encrypt-data"}, {s.SigningRequired, "client requires signing"},
				{s.LoggedOff, "logged off"}} {
				if f.on {
					fmt.Fprintf(&b, ", %s", f.name)
				}
			}
			if s.KeyKnown {
				b.WriteString(", key known")
			} else if s.KeyNote != "" {
				fmt.Fprintf(&b, ", no key (%s)", s.KeyNote)
			}
			if s.Established {
				if s.SetupSigned {
					fmt.Fprintf(&b, ", setup response signed/%s", s.SetupSig)
				} else {
					b.WriteString(", setup response unsigned")
				}
			}
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  requests: %v\n  responses: %v\n", c.Requests, c.Responses)
		if c.Cancels.Total() > 0 {
			fmt.Fprintf(&b, "  cancels: %v\n", c.Cancels)
		}
		var classes []string
		for cl := ClassNoSession; cl <= ClassOther; cl++ {
			if n := c.Classes[cl]; n > 0 {
				classes = append(classes, fmt.Sprintf("%s %d", cl, n))
			}
		}
		if len(classes) > 0 {
			fmt.Fprintf(&b, "  not counted: %s\n", strings.Join(classes, ", "))
		}
		for _, e := range c.Errors {
			fmt.Fprintf(&b, "  error: %s\n", e)
		}
	}
	return b.String()
}
