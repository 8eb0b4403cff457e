//go:build linux

package main

import (
	"fmt"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// authSettings fills the server's authentication settings from the policy:
// the mechanism order, NTLM on or off, and a Kerberos acceptor reading the
// keytab anew (so that a reload picks up rotated keys). The replay cache
// outlives reloads: an authenticator accepted before a reload stays
// refused after it.
func (c *shareCache) authSettings(cfg *policy.Config, st *server.Settings) error {
	st.DisableNTLM = !cfg.NTLM
	st.AuthOrder = cfg.AuthOrder
	k := cfg.Kerberos
	if k == nil {
		return nil
	}
	kt, err := keytab.Load(k.Keytab)
	if err != nil {
		return fmt.Errorf("kerberos.keytab %s: %w", k.Keytab, err)
	}
	c.mu.Lock()
	if c.replay == nil || c.replaySize != k.ReplayCacheEntries {
		c.replay, c.replaySize = krb5.NewReplayCache(k.ReplayCacheEntries), k.ReplayCacheEntries
	}
	replay := c.replay
	c.mu.Unlock()
	acc, err := krb5.NewAcceptor(krb5.AcceptorConfig{
		Keytab:  kt,
		Service: k.Service,
		Realm:   k.Realm,
		Mapping: krb5.Mapping{Realm: k.Realm, Map: k.Map, Unmapped: k.Unmapped},
		MaxSkew: k.MaxSkew,
		Replay:  replay,
	})
	if err != nil {
		return fmt.Errorf("kerberos: %w", err)
	}
	st.Kerberos = acc
	return nil
}
