package krb5

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// clientCreds adapts a gokrb5 client (it talks to the KDC for service
// tickets and caches them).
type clientCreds struct{ cl *client.Client }

// FromClient returns Credentials backed by a logged-on gokrb5 client.
func FromClient(cl *client.Client) Credentials { return clientCreds{cl} }

func (c clientCreds) ServiceTicket(spn string) (messages.Ticket, types.EncryptionKey, error) {
	return c.cl.GetServiceTicket(spn)
}

func (c clientCreds) Principal() (types.PrincipalName, string) {
	return c.cl.Credentials.CName(), c.cl.Credentials.Domain()
}

// ClientOptions say where the client's Kerberos credentials come from.
type ClientOptions struct {
	// Config is the krb5.conf path; empty means $KRB5_CONFIG (its first
	// existing file), else /etc/krb5.conf.
	Config string
	// CCache is the credential cache; empty means $KRB5CCNAME, else
	// /tmp/krb5cc_<uid>. Only FILE: caches can be read.
	CCache string
	// Keytab and Principal ("user@REALM"), when Keytab is set, log on
	// with the keytab instead of a credential cache.
	Keytab    string
	Principal string
}

// LoadCredentials returns the credentials the options name. With a
// keytab it obtains a TGT from the KDC at once.
func LoadCredentials(o ClientOptions) (Credentials, error) {
	cfgPath, err := configPath(o.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("krb5: reading %s: %w", cfgPath, err)
	}
	if o.Keytab != "" {
		name, realm, ok := strings.Cut(o.Principal, "@")
		if !ok || name == "" || realm == "" {
			return nil, fmt.Errorf("krb5: a keytab logon needs the principal as user@REALM, got %q", o.Principal)
		}
		kt, err := keytab.Load(o.Keytab)
		if err != nil {
			return nil, fmt.Errorf("krb5: reading keytab %s: %w", o.Keytab, err)
		}
		cl := client.NewWithKeytab(name, realm, kt, cfg, client.DisablePAFXFAST(true))
		if err := cl.Login(); err != nil {
			return nil, fmt.Errorf("krb5: logon of %s with keytab %s: %w", o.Principal, o.Keytab, err)
		}
		return FromClient(cl), nil
	}
	path, err := ccachePath(o.CCache)
	if err != nil {
		return nil, err
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return nil, fmt.Errorf("krb5: reading credential cache %s (run kinit first): %w", path, err)
	}
	cl, err := client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("krb5: credential cache %s: %w", path, err)
	}
	return FromClient(cl), nil
}

// configPath resolves krb5.conf as MIT does: KRB5_CONFIG is a
// colon-separated list; the first file that exists is used.
func configPath(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	if env := os.Getenv("KRB5_CONFIG"); env != "" {
		for _, f := range filepath.SplitList(env) {
			if _, err := os.Stat(f); err == nil {
				return f, nil
			}
		}
		return "", fmt.Errorf("krb5: none of KRB5_CONFIG=%s exists", env)
	}
	return "/etc/krb5.conf", nil
}

// ccachePath resolves the credential cache name: "FILE:path" or a plain
// path; other cache types (KEYRING, KCM, DIR, MEMORY) cannot be read.
func ccachePath(p string) (string, error) {
	if p == "" {
		p = os.Getenv("KRB5CCNAME")
	}
	if p == "" {
		return fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid()), nil
	}
	if typ, rest, ok := strings.Cut(p, ":"); ok && !strings.HasPrefix(p, "/") {
		if typ != "FILE" {
			return "", errors.New("krb5: credential cache " + p + ": only FILE: caches are supported (kinit -c FILE:/path)")
		}
		p = rest
	}
	return p, nil
}
