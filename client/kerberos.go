package client

import (
	"sync"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
)

// Kerberos makes a Dialer log on with Kerberos (Dialer.Kerberos). SPNEGO
// offers Kerberos first and, unless NoNTLM is set and when the Dialer has
// a User, NTLM second.
type Kerberos struct {
	// Credentials give service tickets. When nil they are loaded at each
	// logon as Options say: the credential cache ($KRB5CCNAME, as kinit
	// leaves it) and krb5.conf ($KRB5_CONFIG), or a keytab.
	Credentials krb5.Credentials
	Options     krb5.ClientOptions
	// SPN is the server's service principal; empty means "cifs/" and the
	// host name given to Dial.
	SPN string
	// NoNTLM refuses NTLM: only Kerberos is offered, and a server that
	// does not accept it fails the logon.
	NoNTLM bool

	once  sync.Once
	creds krb5.Credentials
	err   error
}

// credentials returns the configured or loaded credentials; a cache is
// read once per Kerberos value.
func (k *Kerberos) credentials() (krb5.Credentials, error) {
	if k.Credentials != nil {
		return k.Credentials, nil
	}
	k.once.Do(func() { k.creds, k.err = krb5.LoadCredentials(k.Options) })
	return k.creds, k.err
}

// kerberosMech returns the SPNEGO initiator offering Kerberos (and NTLM
// unless refused) for one logon.
func (s *Session) kerberosMech() auth.ClientMech {
	k := s.cfg.Kerberos
	spn := k.SPN
	if spn == "" {
		spn = "cifs/" + s.host
	}
	mechs := []auth.ClientMechanism{{
		Name: "kerberos",
		OIDs: []string{auth.OIDMSKerberos, auth.OIDKerberos},
		New: func() (auth.GSSClient, error) {
			creds, err := k.credentials()
			if err != nil {
				return nil, err
			}
			return krb5.NewInitiator(creds, spn, nil), nil
		},
	}}
	if !k.NoNTLM && s.cfg.User != "" {
		cfg := &ntlm.ClientConfig{User: s.cfg.User, Password: s.cfg.Password, Domain: s.cfg.Domain, TargetSPN: spn}
		mechs = append(mechs, spnego.NTLMClientMechanism(func() *ntlm.Client { return ntlm.NewClient(cfg) }))
	}
	return spnego.NewInitiator(mechs...)
}
