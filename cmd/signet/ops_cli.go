package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/signetsmb/signet/internal/admin"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// The admin commands: status, audit report, sessions close (policy set is
// in admin.go's runPolicy). They reach the running server through its
// admin socket, found from --config.

func init() {
	registerCommand("status", "sessions and connections of the running server: status [--json] [--config FILE]", runStatus)
	registerCommand("audit", "clients that require_signing = true would refuse: audit report [--json] [--config FILE]", runAudit)
	registerCommand("sessions", "end sessions of the running server: sessions close --unsigned|--user NAME [--config FILE]", runSessions)
}

// Results of the admin operations, shared with the server side.
type (
	statusResult struct {
		Server      serverStatus         `json:"server"`
		Connections []server.ConnInfo    `json:"connections"`
		Sessions    []server.SessionInfo `json:"sessions"`
	}
	serverStatus struct {
		Version          string    `json:"version"`
		Started          time.Time `json:"started"`
		Config           string    `json:"config"`
		RequireSigning   string    `json:"require_signing"`
		Connections      int64     `json:"connections"`
		Sessions         int64     `json:"sessions"`
		OpenFiles        int64     `json:"open_files"`
		BadSignatures    int64     `json:"bad_signatures"`
		UnsignedRejected int64     `json:"unsigned_rejected"`
	}
	auditResult struct {
		RequireSigning string              `json:"require_signing"`
		Counts         map[string]int64    `json:"counts"`
		Entries        []server.AuditEntry `json:"clients"`
		Events         []server.AuditEvent `json:"events"`
	}
	closeResult struct {
		Closed []server.SessionInfo `json:"closed"`
	}
	setResult struct {
		File    string      `json:"file"`
		Changes []setChange `json:"changes"`
	}
	setChange struct {
		Key     string `json:"key"`
		Old     string `json:"old"`
		New     string `json:"new"`
		Applied bool   `json:"applied"`
		Effect  string `json:"effect"`
	}
)

// adminFlags are the flags that locate the server.
type adminFlags struct {
	config, socket string
	json           bool
}

func (a *adminFlags) register(fs *flag.FlagSet, withJSON bool) {
	fs.StringVar(&a.config, "config", "", "configuration file of the running server (its server.admin_socket); the built-in configuration when omitted")
	fs.StringVar(&a.socket, "admin-socket", "", "admin socket path, instead of reading it from --config")
	if withJSON {
		fs.BoolVar(&a.json, "json", false, "print JSON")
	}
}

// socketPath finds the admin socket from the flags.
func (a *adminFlags) socketPath() (string, error) {
	if a.socket != "" {
		return a.socket, nil
	}
	var cfg *policy.Config
	var err error
	if a.config != "" {
		cfg, _, err = policy.LoadAllowUnknown(a.config)
	} else {
		var dir string
		if dir, err = policy.DefaultStateDir(); err == nil {
			cfg, _, err = policy.Parse(policy.DefaultConfig(), dir, policy.DefaultName)
		}
	}
	if err != nil {
		return "", err
	}
	if cfg.AdminSocket == "" {
		return "", fmt.Errorf("%s disables the admin socket (server.admin_socket = \"\")", cfg.Name)
	}
	return cfg.AdminSocket, nil
}

func (a *adminFlags) call(ctx context.Context, req admin.Request, out any) error {
	path, err := a.socketPath()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return admin.Call(ctx, path, req, out)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runStatus(ctx context.Context, args []string) error {
	var a adminFlags
	fs := newFlagSet("status", "status [--json] [--config FILE | --admin-socket PATH]")
	a.register(fs, true)
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageFail(fs, "unexpected argument %q", pos[0])
	}
	var res statusResult
	if err := a.call(ctx, admin.Request{Op: "status"}, &res); err != nil {
		return err
	}
	if a.json {
		return printJSON(res)
	}
	writeStatus(os.Stdout, &res)
	return nil
}

func writeStatus(w io.Writer, res *statusResult) {
	s := res.Server
	fmt.Fprintf(w, "signet %s, up since %s, config %s\nrequire_signing = %s; %d connections, %d sessions, %d open files; refused: %d bad signatures, %d unsigned requests\n\n",
		s.Version, s.Started.Format(time.RFC3339), s.Config, s.RequireSigning, s.Connections, s.Sessions, s.OpenFiles,
		s.BadSignatures, s.UnsignedRejected)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tUSER\tCLIENT\tDIALECT\tSIGNING\tSIGNED\tENCRYPTION\tTREES\tOPEN FILES")
	for _, in := range res.Sessions {
		user := in.User
		switch {
		case in.Anonymous:
			user = "(anonymous)"
		case in.Guest:
			user += " (guest)"
		}
		signed := "no"
		if in.Signed {
			signed = "yes"
			if in.SigningRequired {
				signed = "yes (required)"
			}
		}
		fmt.Fprintf(tw, "%016x\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", in.ID, user, strings.Join(in.Clients, ","), in.Dialect,
			orDash(in.SigningAlgorithm), signed, orDash(in.Encryption), orDash(strings.Join(in.Trees, ",")), in.Opens)
	}
	tw.Flush()
	if len(res.Sessions) == 0 {
		fmt.Fprintln(w, "(no sessions)")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runAudit(ctx context.Context, args []string) error {
	var a adminFlags
	fs := newFlagSet("audit", "audit report [--json] [--config FILE | --admin-socket PATH]")
	a.register(fs, true)
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "report" {
		return usageFail(fs, "want the subcommand report")
	}
	var res auditResult
	if err := a.call(ctx, admin.Request{Op: "audit"}, &res); err != nil {
		return err
	}
	if a.json {
		return printJSON(res)
	}
	w := os.Stdout
	total := int64(0)
	for _, n := range res.Counts {
		total += n
	}
	fmt.Fprintf(w, "require_signing = %s; %d audit events (unsigned %d, guest %d, anonymous %d, dialect below the floor %d, signing algorithm below the floor %d, cannot encrypt %d)\n",
		res.RequireSigning, total, res.Counts[server.AuditUnsigned], res.Counts[server.AuditGuest], res.Counts[server.AuditAnonymous],
		res.Counts[server.AuditDialect], res.Counts[server.AuditAlgorithm], res.Counts[server.AuditEncryption])
	if res.RequireSigning != "audit" {
		fmt.Fprintln(w, `events are recorded only while require_signing = "audit"`)
	}
	if len(res.Entries) == 0 {
		fmt.Fprintln(w, "no client would be refused if signing were required")
		return nil
	}
	fmt.Fprintln(w, "\nclients that require_signing = true would refuse, newest first:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "LAST SEEN\tCLIENT\tUSER\tREASON\tSESSIONS\tDIALECT\tSIGNING")
	for _, e := range res.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Last.Format(time.RFC3339), e.Client, orDash(e.User), e.Reason,
			e.Count, e.Dialect, orDash(e.SigningAlgorithm))
	}
	return tw.Flush()
}

func runSessions(ctx context.Context, args []string) error {
	var a adminFlags
	fs := newFlagSet("sessions", "sessions close --unsigned|--user NAME [--config FILE | --admin-socket PATH]")
	a.register(fs, true)
	unsigned := fs.Bool("unsigned", false, "end the sessions that do not sign (guest, anonymous, or any unsigned request)")
	user := fs.String("user", "", "end the sessions of this user")
	pos, err := parseClientArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "close" {
		return usageFail(fs, "want the subcommand close")
	}
	if !*unsigned && *user == "" {
		return usageFail(fs, "say which sessions to close: --unsigned and/or --user NAME")
	}
	var res closeResult
	if err := a.call(ctx, admin.Request{Op: "close_sessions", Unsigned: *unsigned, User: *user}, &res); err != nil {
		return err
	}
	if a.json {
		return printJSON(res)
	}
	for _, in := range res.Closed {
		fmt.Printf("closed session %016x of %s from %s (%s, signed: %t)\n", in.ID, orDash(in.User), strings.Join(in.Clients, ","), in.Dialect, in.Signed)
	}
	fmt.Printf("%d sessions closed\n", len(res.Closed))
	return nil
}

// policySet is `signet policy set KEY=VALUE ...`.
func policySet(ctx context.Context, a *adminFlags, assign []string) error {
	if len(assign) == 0 {
		return errors.New("usage: signet policy set [--config FILE] KEY=VALUE ...")
	}
	var res setResult
	if err := a.call(ctx, admin.Request{Op: "policy_set", Set: assign}, &res); err != nil {
		return err
	}
	if a.json {
		return printJSON(res)
	}
	if len(res.Changes) == 0 {
		fmt.Printf("%s: no change (the values were already in force)\n", res.File)
		return nil
	}
	restart := false
	for _, c := range res.Changes {
		fmt.Printf("%s: %s -> %s: %s\n", c.Key, orDash(c.Old), orDash(c.New), c.Effect)
		restart = restart || !c.Applied
	}
	fmt.Printf("saved in %s\n", filepath.Clean(res.File))
	if restart {
		return &exitError{code: 3, msg: "some changes need a restart of the server to take effect"}
	}
	return nil
}

// usageFail prints the flag set's usage after msg and exits 2.
func usageFail(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(os.Stderr, "signet %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return &exitError{code: 2}
}
