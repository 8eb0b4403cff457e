package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// GSSServer is a server mechanism that SPNEGO can negotiate: a ServerMech
// whose established context can sign and verify the mechListMIC
// (GSS_GetMIC and GSS_VerifyMIC [RFC 2743 2.3.1, 2.3.2]).
type GSSServer interface {
	ServerMech
	// MIC returns the mechanism's MIC over data, nil when the context has
	// no key (anonymous) or the mechanism cannot sign.
	MIC(data []byte) []byte
	// VerifyMIC checks a MIC produced by the peer over data.
	VerifyMIC(data, mic []byte) bool
	// MICRequired reports, once the context is established, that the
	// mechanism itself requires the mechListMIC exchange even when it was
	// the client's first choice (NTLM when the AUTHENTICATE carried a MIC
	// [MS-SPNG 3.2.5.1]).
	MICRequired() bool
}

// GSSClient is the client side of a mechanism SPNEGO can negotiate.
type GSSClient interface {
	ClientMech
	MIC(data []byte) []byte
	VerifyMIC(data, mic []byte) bool
}

// ServerMechanism describes one mechanism a server offers through SPNEGO.
// A list of them, in the order they are offered, is all SPNEGO needs: a
// new mechanism plugs in by adding one entry.
type ServerMechanism struct {
	// Name is the policy name ("kerberos", "ntlm"), for logs.
	Name string
	// OIDs are the DER encodings (tag, length, value) of the object
	// identifiers that select this mechanism, the one to advertise first.
	OIDs []string
	// Raw, when set, recognises a first token of this mechanism sent
	// without SPNEGO framing (raw NTLMSSP [MS-SMB2 3.3.5.5.3]).
	Raw func(token []byte) bool
	// New returns the acceptor for one handshake.
	New func() GSSServer
}

// ClientMechanism describes one mechanism a client may offer.
type ClientMechanism struct {
	Name string
	OIDs []string // DER, as in ServerMechanism
	// New returns the initiator for one handshake; it may fail (no
	// credentials, KDC unreachable).
	New func() (GSSClient, error)
}

// ErrNoMechanism means the peer offered no mechanism that is enabled here
// (for example NTLM while policy turned NTLM off). It is reported together
// with ErrLogonFailure, by a *NoMechanismError.
var ErrNoMechanism = errors.New("auth: no enabled mechanism in common")

// NoMechanismError says what the peer offered (OIDName of each) and what is
// enabled here (mechanism names). errors.Is matches it to ErrNoMechanism
// and ErrLogonFailure.
type NoMechanismError struct {
	Offered, Enabled []string
}

func (e *NoMechanismError) Error() string {
	return fmt.Sprintf("auth: the peer offers %s, none of which is enabled here (enabled: %s)",
		strings.Join(e.Offered, ", "), strings.Join(e.Enabled, ", "))
}

// Is makes errors.Is(err, ErrNoMechanism) and errors.Is(err,
// ErrLogonFailure) true.
func (e *NoMechanismError) Is(target error) bool {
	return target == ErrNoMechanism || target == ErrLogonFailure
}

// Offers reports whether the peer offered the mechanism with that OIDName.
func (e *NoMechanismError) Offers(name string) bool { return slices.Contains(e.Offered, name) }

// Well-known mechanism OIDs as DER (tag, length, value).
const (
	OIDNTLMSSP    = "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a" // 1.3.6.1.4.1.311.2.2.10
	OIDKerberos   = "\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"     // 1.2.840.113554.1.2.2
	OIDMSKerberos = "\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"     // 1.2.840.48018.1.2.2 [MS-KILE 3.1.5.1]
	OIDNegoEx     = "\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e" // 1.3.6.1.4.1.311.2.2.30
)

// OIDName returns a readable name for a DER OID, for logs.
func OIDName(oid string) string {
	switch oid {
	case OIDNTLMSSP:
		return "NTLMSSP"
	case OIDKerberos:
		return "Kerberos"
	case OIDMSKerberos:
		return "MS-Kerberos"
	case OIDNegoEx:
		return "NEGOEX"
	}
	return "unknown OID"
}
