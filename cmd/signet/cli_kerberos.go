package main

import (
	"flag"

	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/client"
)

// kerberosFlags are the client's Kerberos options.
type kerberosFlags struct {
	use          bool
	ntlmFallback bool
	keytab       string
	principal    string
	spn          string
}

func (k *kerberosFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&k.use, "kerberos", false, "log on with Kerberos: the ticket cache of kinit ($KRB5CCNAME), krb5.conf from $KRB5_CONFIG; NTLM is refused")
	fs.BoolVar(&k.use, "k", false, "same as --kerberos")
	fs.BoolVar(&k.ntlmFallback, "ntlm-fallback", false, "with --kerberos, also offer NTLM (second) with -U and a password")
	fs.StringVar(&k.keytab, "keytab", "", "with --kerberos, get the ticket from this keytab instead of the ticket cache (needs --principal)")
	fs.StringVar(&k.principal, "principal", "", "with --keytab, the client principal, user@REALM")
	fs.StringVar(&k.spn, "spn", "", "with --kerberos, the server's service principal (default cifs/HOST)")
}

// options returns the Dialer's Kerberos settings, nil without --kerberos.
func (k *kerberosFlags) options() *client.Kerberos {
	if !k.use {
		return nil
	}
	return &client.Kerberos{
		Options: krb5.ClientOptions{Keytab: k.keytab, Principal: k.principal},
		SPN:     k.spn,
		NoNTLM:  !k.ntlmFallback,
	}
}
