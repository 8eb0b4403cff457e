package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/signetsmb/signet/client"
)

func init() {
	registerCommand("probe", "report dialects, signing policy and encryption (NEGOTIATE only): probe [--json] host[:port] ...", clientProbe)
}

// probeResult is what probe learnt about one host; it is also the JSON
// form.
type probeResult struct {
	Host               string   `json:"host"`
	Dialects           []string `json:"dialects"`
	SigningEnabled     bool     `json:"signing_enabled"`
	SigningRequired    bool     `json:"signing_required"`
	SigningAlgorithms  []string `json:"signing_algorithms"`
	PreferredAlgorithm *string  `json:"preferred_signing_algorithm"`
	// Encryption: the server negotiates a cipher in some dialect;
	// Cipher30 is the 3.0/3.0.2 one, Ciphers the 3.1.1 ones it accepts
	// offered alone, PreferredCipher its pick (cli_probe_enc.go).
	Encryption      bool     `json:"encryption"`
	Cipher30        string   `json:"cipher_30,omitempty"`
	Ciphers         []string `json:"ciphers"`
	PreferredCipher *string  `json:"preferred_cipher"`
	Error           string   `json:"error,omitempty"`
}

// clientProbe runs NEGOTIATE against each host, like nmap's smb-protocols
// and smb2-security-mode: one connection per dialect, then (for 3.1.1) one
// per signing algorithm offered alone, and one with all offered to see the
// server's preference. Exit status 1 if a host could not be probed, else 2
// if a host does not require signing, else 0.
func clientProbe(ctx context.Context, args []string) error {
	const syn = "probe [--json] [--timeout D] host[:port] ..."
	fs := newFlagSet("probe", syn)
	asJSON := fs.Bool("json", false, "print one JSON object per host")
	timeout := fs.Duration("timeout", 5*time.Second, "limit for each connection")
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2, msg: err.Error()}
	}
	if len(pos) == 0 {
		return usageError(syn)
	}
	var failed, unsigned int
	for _, host := range pos {
		r := probeHost(ctx, strings.TrimPrefix(strings.TrimPrefix(host, "smb:"), "//"), *timeout)
		switch {
		case r.Error != "":
			failed++
		case !r.SigningRequired:
			unsigned++
		}
		if err := printProbe(os.Stdout, r, *asJSON); err != nil {
			return err
		}
	}
	switch {
	case failed > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d hosts could not be probed", failed, len(pos))}
	case unsigned > 0:
		return &exitError{code: 2, msg: fmt.Sprintf("%d of %d hosts do not require signing", unsigned, len(pos))}
	}
	return nil
}

// probeHost probes one host.
func probeHost(ctx context.Context, host string, timeout time.Duration) *probeResult {
	r := &probeResult{Host: host, Dialects: []string{}, SigningAlgorithms: []string{}, Ciphers: []string{}}
	if _, hostport, err := client.SplitAddr(host); err == nil {
		r.Host = hostport
	}
	negotiate := func(d client.Dialer) (*client.NegotiateInfo, error) {
		d.Timeout = timeout
		return d.Negotiate(ctx, host)
	}
	base, err := negotiate(client.Dialer{AllowUnsigned: true})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.SigningEnabled, r.SigningRequired = base.SigningEnabled, base.SigningRequired
	for _, d := range []uint16{client.Dialect202, client.Dialect210, client.Dialect300, client.Dialect302, client.Dialect311} {
		if info, err := negotiate(client.Dialer{MinDialect: d, MaxDialect: d, AllowUnsigned: true}); err == nil && info.Dialect == d {
			r.Dialects = append(r.Dialects, client.DialectName(d))
			noteCipher30(r, info)
		}
	}
	if len(r.Dialects) > 0 && r.Dialects[len(r.Dialects)-1] == client.DialectName(client.Dialect311) {
		probeSigningAlgorithms(r, negotiate)
		probeCiphers(r, negotiate)
	}
	return r
}

// probeSigningAlgorithms fills the 3.1.1 signing algorithms the server
// accepts when offered alone, and the one it picks from the default offer.
func probeSigningAlgorithms(r *probeResult, negotiate func(client.Dialer) (*client.NegotiateInfo, error)) {
	only311 := client.Dialer{MinDialect: client.Dialect311, MaxDialect: client.Dialect311, AllowUnsigned: true}
	for _, alg := range client.DefaultSigningAlgorithms() {
		d := only311
		d.SigningAlgorithms = []uint16{alg}
		if info, err := negotiate(d); err == nil && info.SigningAlgorithmNegotiated && info.SigningAlgorithm == alg {
			r.SigningAlgorithms = append(r.SigningAlgorithms, client.SigningAlgorithmName(alg))
		}
	}
	if info, err := negotiate(only311); err == nil {
		name := client.SigningAlgorithmName(info.SigningAlgorithm)
		r.PreferredAlgorithm = &name
	}
}

// printProbe writes one host's result as text or JSON.
func printProbe(w io.Writer, r *probeResult, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	if r.Error != "" {
		_, err := fmt.Fprintf(w, "%s: error: %s\n", r.Host, r.Error)
		return err
	}
	line := fmt.Sprintf("%s: dialects %s; %s", r.Host, strings.Join(r.Dialects, " "), signingPhrase(r))
	if r.PreferredAlgorithm != nil {
		accepts := "none when offered alone"
		if len(r.SigningAlgorithms) > 0 {
			accepts = "accepts " + strings.Join(r.SigningAlgorithms, ", ")
		}
		line += fmt.Sprintf("; 3.1.1 signing: %s (%s)", *r.PreferredAlgorithm, accepts)
	}
	line += "; " + encryptionPhrase(r)
	_, err := fmt.Fprintln(w, line)
	return err
}

// signingPhrase words the SecurityMode as nmap does.
func signingPhrase(r *probeResult) string {
	switch {
	case r.SigningRequired:
		return "signing enabled and required"
	case r.SigningEnabled:
		return "signing enabled but not required"
	}
	return "signing not enabled"
}
