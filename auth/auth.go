// Package auth defines the authentication mechanism contract shared by the
// SMB server and client. Mechanisms (NTLM, SPNEGO) are pure state machines:
// bytes in, bytes out, a session key and an identity when done. They do no
// I/O and keep no state beyond one handshake.
package auth

import "errors"

// Identity is the authenticated principal of a completed handshake.
type Identity struct {
	User   string // as the client typed it
	Domain string
	// Account is the canonical ID of the authenticated account
	// (Account.ID); empty for anonymous and guest logons. Every
	// authorization decision uses it, never User.
	Account   string
	Anonymous bool // NTLM anonymous (null session); no usable session key
	Guest     bool // mapped to guest; credentials were not verified
}

// ServerMech is one server-side authentication exchange. A fresh value is
// created for every SESSION_SETUP exchange and discarded when it completes.
type ServerMech interface {
	// Accept consumes the client's next token and returns the token to send
	// back. done is true once authentication has succeeded. A failure returns
	// an error wrapping ErrLogonFailure (bad credentials), ErrAccountDisabled
	// (right credentials, disabled account) or ErrInvalidToken (malformed
	// input).
	Accept(in []byte) (out []byte, done bool, err error)
	// Identity and SessionKey are valid once Accept returned done.
	// SessionKey is nil for anonymous and guest logons.
	Identity() Identity
	SessionKey() []byte
}

// ClientMech is one client-side authentication exchange.
type ClientMech interface {
	// Step consumes the server's token (nil for the first call) and returns
	// the next token to send. done is true when the client expects no further
	// server token beyond the final response.
	Step(in []byte) (out []byte, done bool, err error)
	// SessionKey is valid after the last Step.
	SessionKey() []byte
}

var (
	// ErrLogonFailure means the credentials were wrong or the user is unknown
	// (STATUS_LOGON_FAILURE on the wire).
	ErrLogonFailure = errors.New("auth: logon failure")
	// ErrInvalidToken means a token could not be parsed.
	ErrInvalidToken = errors.New("auth: invalid token")
)
