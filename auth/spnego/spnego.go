// Package spnego implements SPNEGO [RFC 4178] with the Microsoft extensions
// of [MS-SPNG], for the SMB2/SMB3 SESSION_SETUP security buffer. Both the
// server (acceptor) and the client (initiator) are pure state machines,
// like the mechanisms they drive.
//
// Mechanisms come as a list (auth.ServerMechanism, auth.ClientMechanism):
// NTLM (package ntlm, NTLMMechanism here) and Kerberos (package krb5) today;
// another one plugs in by adding an entry, without changes here. The
// mechListMIC, which protects the mechanism list against downgrade, is
// computed and verified by the selected mechanism (GSS_GetMIC) over the
// exact DER of the initiator's mechTypes [RFC 4178 5, MS-SPNG 3.1.5.1].
//
// A Server or Client is not safe for concurrent use.
package spnego

import "github.com/signetsmb/signet/auth"

// Object identifiers as full DER (tag, length, value) [MS-SPNG 2.2, RFC 4178 4.1].
const (
	oidSPNEGO  = "\x06\x06\x2b\x06\x01\x05\x05\x02" // 1.3.6.1.5.5.2
	oidNTLMSSP = auth.OIDNTLMSSP                    // 1.3.6.1.4.1.311.2.2.10
)

// negHintName is the hintName of NegTokenInit2 sent by Windows, Samba and
// ksmbd [MS-SPNG 2.2.1].
const negHintName = "not_defined_in_RFC4178@please_ignore"

// negState is NegTokenResp's negState [RFC 4178 4.2.2].
type negState int

const (
	stateAcceptCompleted  negState = 0
	stateAcceptIncomplete negState = 1
	stateReject           negState = 2
	stateRequestMIC       negState = 3
	stateAbsent           negState = -1 // field not present
)

// NegTokenInit2 returns the server's initial token for the SMB2 NEGOTIATE
// response security buffer: InitialContextToken with NegTokenInit2
// [MS-SPNG 2.2.1] offering every OID of mechs in order, with the customary
// negHints. Without mechs it offers NTLMSSP only (74 bytes, the same as
// Samba and ksmbd send without Kerberos).
func NegTokenInit2(mechs ...auth.ServerMechanism) []byte {
	var oids [][]byte
	for _, m := range mechs {
		for _, o := range m.OIDs {
			oids = append(oids, []byte(o))
		}
	}
	if len(oids) == 0 {
		oids = [][]byte{[]byte(oidNTLMSSP)}
	}
	mechTypes := wrap(tagSequence, oids...)
	hints := wrap(tagSequence, explicit(0, wrap(tagGeneralString, []byte(negHintName))))
	init := wrap(tagSequence, explicit(0, mechTypes), explicit(3, hints))
	return wrap(tagApplication0, []byte(oidSPNEGO), explicit(0, init))
}

// rejectToken is NegTokenResp{negState reject} [RFC 4178 4.2.2].
func rejectToken() []byte {
	r := negTokenResp{state: stateReject}
	return r.marshal()
}
