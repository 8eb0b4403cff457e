package server

import (
	"fmt"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/vfs"
)

// SigningAlgorithm is an SMB signing algorithm (Settings.SigningAlgorithms,
// Settings.AuditMinSigning).
type SigningAlgorithm = smbcrypto.Algorithm

// Signing algorithms.
const (
	SigningHMACSHA256 SigningAlgorithm = smbcrypto.HMACSHA256 // 2.0.2 and 2.1
	SigningAESCMAC    SigningAlgorithm = smbcrypto.AESCMAC    // 3.0, 3.0.2; 3.1.1 when negotiated
	SigningAESGMAC    SigningAlgorithm = smbcrypto.AESGMAC    // 3.1.1 only
)

// SettingsFromPolicy converts a policy snapshot (a configuration file
// loaded with package policy) into server Settings, opening each share's
// folder with open (vfs/localfs.New on Linux, or a cache of open
// backends so that reloads reuse them, as signet serve does). It is what
// an embedding program passes to Options.Settings after each reload.
func SettingsFromPolicy(cfg *policy.Config, open func(path string) (vfs.FS, error)) (*Settings, error) {
	st := &Settings{
		RequireSigning:  cfg.RequireSigning,
		AuditSigning:    cfg.AuditSigning,
		AuditMinDialect: uint16(cfg.AuditMinDialect),
		AuditMinSigning: SigningAlgorithm(cfg.AuditMinSigning),
		MinDialect:      uint16(cfg.MinDialect),
		MaxDialect:      uint16(cfg.MaxDialect),
		ServerName:      cfg.ServerName,
		Domain:          cfg.Domain,
		AllowAnonymous:  cfg.AllowAnonymous,
		MaxSessions:     cfg.MaxSessions,
		Multichannel:    cfg.Multichannel,
		// Same fields, same order: the conversion stops compiling when
		// one side gains a limit the other lacks.
		Limits: Limits(cfg.Limits),
	}
	st.EncryptData = cfg.EncryptData
	st.AllowUnencryptedAccess = !cfg.RejectUnencryptedAccess
	for _, ci := range cfg.Ciphers {
		st.Ciphers = append(st.Ciphers, smbcrypto.Cipher(ci))
	}
	for _, a := range cfg.SigningAlgorithms {
		st.SigningAlgorithms = append(st.SigningAlgorithms, SigningAlgorithm(a))
	}
	for _, ni := range cfg.Interfaces {
		st.Interfaces = append(st.Interfaces, NetInterface{Index: ni.Index, RSS: ni.RSS, RDMA: ni.RDMA,
			LinkSpeed: ni.Speed, Addrs: ni.Addresses})
	}
	for _, sh := range cfg.Shares {
		fs, err := open(sh.Path)
		if err != nil {
			return nil, fmt.Errorf("share %q: %w", sh.Name, err)
		}
		st.Shares = append(st.Shares, &Share{Name: sh.Name, Comment: sh.Comment, ReadOnly: sh.ReadOnly, Users: sh.Users, FS: fs,
			EncryptData: sh.EncryptData})
	}
	return st, nil
}
