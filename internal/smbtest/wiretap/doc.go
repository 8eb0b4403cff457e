// Package wiretap is a recording TCP proxy for SMB2/SMB3 tests. Placed
// between a client and a server on loopback, it records every message in
// both directions and, knowing the user's password, reconstructs each
// session's signing key from the NTLM exchange (as Wireshark does when given
// an NT password) and checks every signature. For SMB 3.x sessions that
// negotiated a cipher it also derives the encryption keys and decrypts every
// TRANSFORM_HEADER frame (decrypt.go): the transform is recorded with
// Decrypted set when it authenticated, followed by the SMB2 messages inside
// it, marked Encrypted. Tests use it to prove from the
// wire that sessions between peers we did not write (smbclient, impacket,
// Samba, go-smb2) and our own are signed, and that the signatures are valid.
//
//	tap := wiretap.Start(t, wiretap.Config{Target: serverAddr, Password: pw})
//	// point the client at tap.Addr() / tap.Port() and run it ...
//	rep := tap.Report()
//	if v := rep.Verdict(); v != "signed" {
//		t.Fatalf("%s\n%s", rep, tap.Transcript())
//	}
//
// Report gives per-connection details (dialect, signing algorithm, sessions
// and whether their keys could be reconstructed, counts of valid, invalid,
// unverifiable and unsigned messages); ReportFor judges a subset of the
// messages; Messages returns every recorded message with its bytes.
//
// # What is checked
//
// The tap follows each connection: the 4-byte direct-TCP framing, an
// optional SMB1 NEGOTIATE, compounds (every element is checked on its own,
// over exactly its bytes), the NEGOTIATE exchange (dialect, 3.1.1
// SIGNING_CAPABILITIES, preauth integrity hash), and SESSION_SETUP. For
// NTLM (raw or inside SPNEGO) it takes ServerChallenge from the CHALLENGE
// and the user, domain, NTLMv2 response and EncryptedRandomSessionKey from
// the AUTHENTICATE, recomputes ExportedSessionKey from the password
// (checking NTProofStr, so a wrong password is detected rather than giving
// wrong keys), and derives the signing key with the dialect's KDF and, for
// 3.1.1, the session's preauth hash after the final SESSION_SETUP request.
// Several sessions per connection, re-authentication (keys unchanged) and
// 3.x channel binding on a second connection through the same tap are
// followed. Every later message carrying SMB2_FLAGS_SIGNED is verified;
// see SigStatus for the outcomes and Class for which messages count.
//
// Not covered: Kerberos sessions (no key: NoKey), NTLMv1, and encrypted
// (TRANSFORM_HEADER) or compressed traffic, which is recorded but not
// decrypted. Anonymous and guest sessions have no key by definition.
//
// # Mutation
//
// Config.Mutate may alter or drop any SMB2 message in flight, to check that
// peers reject tampered or unsigned messages; Corrupt and StripSignature
// are ready-made edits. Tap.Inject sends a message of the test's own on a
// proxied connection, to replay a captured message or, with a Mutate that
// drops messages, to delay and reorder them. ReadFrame reads one transport
// frame, for tests that talk SMB2 on a socket of their own.
//
// The proxy handles many concurrent connections and half-closes, never
// panics on garbage (it forwards whatever it cannot parse and notes it) and
// stops when the test ends.
package wiretap
