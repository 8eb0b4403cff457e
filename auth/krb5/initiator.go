package krb5

import (
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/signetsmb/signet/auth"
)

// Credentials give the initiator a service ticket: a gokrb5 client with a
// TGT (FromClient), or a fixed ticket in tests.
type Credentials interface {
	// ServiceTicket returns a ticket for spn ("cifs/host") and its
	// session key.
	ServiceTicket(spn string) (messages.Ticket, types.EncryptionKey, error)
	// Principal returns the client's principal name and realm.
	Principal() (types.PrincipalName, string)
}

// Initiator is the client side of one Kerberos handshake; it implements
// auth.GSSClient. Not safe for concurrent use.
type Initiator struct {
	creds Credentials
	spn   string
	now   func() time.Time

	sent    bool // AP-REQ produced
	done    bool
	failed  bool
	ctime   time.Time
	cusec   int
	ctx     context
	hasAuth bool
}

var _ auth.GSSClient = (*Initiator)(nil)

// NewInitiator returns an initiator for one logon to spn ("cifs/host").
// now defaults to time.Now.
func NewInitiator(creds Credentials, spn string, now func() time.Time) *Initiator {
	if now == nil {
		now = time.Now
	}
	return &Initiator{creds: creds, spn: spn, now: now}
}

// ClientMechanism returns the SPNEGO entry for Kerberos logons to spn.
func ClientMechanism(creds Credentials, spn string) auth.ClientMechanism {
	return auth.ClientMechanism{
		Name: "kerberos",
		OIDs: []string{auth.OIDMSKerberos, auth.OIDKerberos},
		New:  func() (auth.GSSClient, error) { return NewInitiator(creds, spn, nil), nil },
	}
}

// Step produces the AP-REQ (first call, in ignored) and then checks the
// AP-REP (second call) [RFC 4121 4.1]; done is true after the AP-REP.
func (c *Initiator) Step(in []byte) (out []byte, done bool, err error) {
	switch {
	case c.failed || c.done:
		return nil, false, errors.New("krb5: handshake already finished")
	case !c.sent:
		out, err = c.apReq()
	default:
		err = c.apRep(in)
		done = err == nil
	}
	if err != nil {
		c.failed = true
		return nil, false, err
	}
	c.done = done
	return out, done, nil
}

func (c *Initiator) apReq() ([]byte, error) {
	tkt, key, err := c.creds.ServiceTicket(c.spn)
	if err != nil {
		return nil, fmt.Errorf("krb5: service ticket for %s: %w", c.spn, err)
	}
	cname, realm := c.creds.Principal()
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, err
	}
	an, err := types.NewAuthenticator(realm, cname)
	if err != nil {
		return nil, err
	}
	t := c.now().UTC()
	an.CTime, an.Cusec = t.Truncate(time.Second), t.Nanosecond()/1000
	// An initiator subkey and a sequence number [RFC 4121 4.1].
	if err := an.GenerateSeqNumberAndSubKey(key.KeyType, et.GetKeyByteSize()); err != nil {
		return nil, err
	}
	an.Cksum = types.Checksum{CksumType: cksumTypeGSS, Checksum: gssChecksum(flagMutual | flagReplay | flagSequence | flagConf | flagInteg)}
	req, err := messages.NewAPReq(tkt, key, an)
	if err != nil {
		return nil, err
	}
	types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
	b, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	c.ctx = context{ticketKey: key, initiatorKey: an.SubKey, mySeq: uint64(an.SeqNumber)}
	c.ctime, c.cusec = an.CTime, an.Cusec
	c.sent = true
	return frame(tokAPReq, b), nil
}

// apRep checks the acceptor's AP-REP: it must decrypt with the ticket's
// session key and echo our authenticator's time [RFC 4120 3.2.5].
func (c *Initiator) apRep(in []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("krb5: undecodable AP-REP (%v): %w", r, auth.ErrInvalidToken)
		}
	}()
	tokID, inner, err := unframe(in)
	if err != nil {
		return fmt.Errorf("%w: %w", err, auth.ErrInvalidToken)
	}
	switch tokID {
	case tokAPRep:
	case tokKRBError:
		var ke messages.KRBError
		if err := ke.Unmarshal(inner); err != nil {
			return fmt.Errorf("krb5: server sent an undecodable KRB-ERROR: %w", auth.ErrLogonFailure)
		}
		return fmt.Errorf("krb5: server refused the ticket: %s: %w", ke.Error(), auth.ErrLogonFailure)
	default:
		return fmt.Errorf("krb5: token 0x%04x is not an AP-REP: %w", tokID, auth.ErrInvalidToken)
	}
	var rep messages.APRep
	if err := rep.Unmarshal(inner); err != nil {
		return fmt.Errorf("krb5: %v: %w", err, auth.ErrInvalidToken)
	}
	b, err := crypto.DecryptEncPart(rep.EncPart, c.ctx.ticketKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("krb5: AP-REP does not decrypt with the session key (mutual authentication failed): %w", auth.ErrLogonFailure)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(b); err != nil {
		return fmt.Errorf("krb5: %v: %w", err, auth.ErrInvalidToken)
	}
	if !part.CTime.Equal(c.ctime) || part.Cusec != c.cusec {
		return fmt.Errorf("krb5: AP-REP time does not match our authenticator: %w", auth.ErrLogonFailure)
	}
	if len(part.Subkey.KeyValue) > 0 {
		c.ctx.acceptorKey = part.Subkey
	}
	c.ctx.peerSeq = uint64(part.SequenceNumber)
	c.hasAuth = true
	return nil
}

// SessionKey returns the GSS-API session key once the AP-REP was checked.
func (c *Initiator) SessionKey() []byte {
	if !c.done {
		return nil
	}
	return c.ctx.sessionKey().KeyValue
}

// MIC returns an initiator MIC token over data.
func (c *Initiator) MIC(data []byte) []byte {
	if !c.done {
		return nil
	}
	return c.ctx.mic(data, false)
}

// VerifyMIC checks an acceptor MIC token over data.
func (c *Initiator) VerifyMIC(data, mic []byte) bool {
	return c.done && c.ctx.verifyMIC(data, mic, true)
}
