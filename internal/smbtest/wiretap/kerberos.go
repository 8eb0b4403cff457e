package wiretap

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// krbOID is the Kerberos mechanism OID (1.2.840.113554.1.2.2) as DER;
// the GSS-API token inside SPNEGO carries it before its TOK_ID
// [RFC 4121 4.1], whichever Kerberos OID SPNEGO negotiated.
const krbOID = "\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"

// krbContext is what the tap learns from a Kerberos exchange, knowing the
// service's keytab (as Wireshark does with a keytab): the ticket's session
// key from the AP-REQ, then the subkeys. The GSS-API session key is the
// acceptor subkey, else the initiator subkey, else the ticket session key
// [RFC 4121 2].
type krbContext struct {
	client       string // principal, name@REALM
	ticketKey    types.EncryptionKey
	initiatorKey types.EncryptionKey
	acceptorKey  types.EncryptionKey
}

func (k *krbContext) sessionKey() []byte {
	switch {
	case len(k.acceptorKey.KeyValue) > 0:
		return k.acceptorKey.KeyValue
	case len(k.initiatorKey.KeyValue) > 0:
		return k.initiatorKey.KeyValue
	}
	return k.ticketKey.KeyValue
}

// findKrb returns the Kerberos message after the GSS-API header with the
// given TOK_ID ("\x01\x00" AP-REQ, "\x02\x00" AP-REP) in a security
// buffer, or nil. Trailing SPNEGO bytes are left to the DER decoder, which
// stops at the end of the message.
func findKrb(buf []byte, tokID string) []byte {
	i := bytes.Index(buf, []byte(krbOID+tokID))
	if i < 0 {
		return nil
	}
	return buf[i+len(krbOID)+len(tokID):]
}

// parseAPReq decrypts an AP-REQ's ticket with the tap's keytab and its
// authenticator with the ticket's session key. It returns nil, nil when
// buf holds no AP-REQ.
func (t *Tap) parseAPReq(buf []byte) (k *krbContext, err error) {
	b := findKrb(buf, "\x01\x00")
	if b == nil {
		return nil, nil
	}
	if t.cfg.Keytab == nil {
		return nil, errors.New("Kerberos AP-REQ seen but no Config.Keytab: key not reconstructed")
	}
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("undecodable Kerberos AP-REQ: %v", r)
		}
	}()
	var req messages.APReq
	if err := req.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("Kerberos AP-REQ: %v", err)
	}
	if err := req.Ticket.DecryptEncPart(t.cfg.Keytab, &req.Ticket.SName); err != nil {
		return nil, fmt.Errorf("Kerberos ticket does not decrypt with Config.Keytab: %v", err)
	}
	key := req.Ticket.DecryptedEncPart.Key
	if err := req.DecryptAuthenticator(key); err != nil {
		return nil, fmt.Errorf("Kerberos authenticator: %v", err)
	}
	a := req.Authenticator
	return &krbContext{client: a.CName.PrincipalNameString() + "@" + a.CRealm, ticketKey: key, initiatorKey: a.SubKey}, nil
}

// noteAPRep takes the acceptor subkey from an AP-REP in buf, if any.
func (k *krbContext) noteAPRep(buf []byte) (err error) {
	b := findKrb(buf, "\x02\x00")
	if b == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("undecodable Kerberos AP-REP: %v", r)
		}
	}()
	var rep messages.APRep
	if err := rep.Unmarshal(b); err != nil {
		return fmt.Errorf("Kerberos AP-REP: %v", err)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, k.ticketKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("Kerberos AP-REP does not decrypt with the ticket's session key: %v", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return fmt.Errorf("Kerberos AP-REP: %v", err)
	}
	if len(part.Subkey.KeyValue) > 0 {
		k.acceptorKey = part.Subkey
	}
	return nil
}

// noteKerberos records a Kerberos exchange on s: the context from the
// request's AP-REQ, and the acceptor subkey from the response's AP-REP.
func (c *connState) noteKerberos(s *session, p *pendingSetup, respBuf []byte) {
	if p.krbErr != nil {
		s.krb, s.key, s.keyErr = nil, nil, p.krbErr
		return
	}
	s.krb = p.krb
	s.rep.User = s.krb.client
	if err := s.krb.noteAPRep(respBuf); err != nil {
		s.key, s.keyErr = nil, err
		return
	}
	s.key, s.keyErr = s.krb.sessionKey(), nil
}
