package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/policy"
)

func init() {
	registerCommand("user", "manage users: user add|passwd|del|disable|enable|list [NAME] --users-file FILE", runUser)
	registerCommand("policy", "show the effective configuration or change the running server's: policy show|set [--config FILE]", runPolicy)
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("user add NAME --users-file F").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

const userUsage = `user SUBCOMMAND [NAME] [--users-file FILE | --config FILE] [--password-stdin]

subcommands:
  add NAME       create a user, or set the password of an existing one
  passwd NAME    change the password of an existing user
  del NAME       delete a user; its sessions on a running server end
  disable NAME   refuse the user's logons; its sessions end
  enable NAME    allow a disabled user again
  list           list the users

The password comes from $SIGNET_PASSWORD, from standard input with
--password-stdin (one line), or from a prompt on the terminal.`

func runUser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	usersFile := fs.String("users-file", "", "users file (NT hashes, mode 0600)")
	configPath := fs.String("config", "", "take the users file from this configuration")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: signet %s\n\nflags:\n", userUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return &exitError{code: 2}
	}
	path, err := usersFilePath(*usersFile, *configPath)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "add":
		if len(pos) != 2 {
			return errors.New("usage: signet user add NAME --users-file FILE")
		}
		pw, err := password(pos[1])
		if err != nil {
			return err
		}
		if err := userdb.Add(path, pos[1], pw); err != nil {
			return err
		}
		fmt.Printf("user %s saved in %s\n", pos[1], path)
	case "passwd", "password":
		if len(pos) != 2 {
			return errors.New("usage: signet user passwd NAME --users-file FILE")
		}
		if err := userExists(path, pos[1]); err != nil {
			return err
		}
		pw, err := password(pos[1])
		if err != nil {
			return err
		}
		if err := userdb.Add(path, pos[1], pw); err != nil {
			return err
		}
		fmt.Printf("password of %s changed in %s\n", pos[1], path)
	case "del", "delete", "rm":
		if len(pos) != 2 {
			return errors.New("usage: signet user del NAME --users-file FILE")
		}
		if err := userdb.Delete(path, pos[1]); err != nil {
			return err
		}
		fmt.Printf("user %s deleted from %s; its sessions on a running server end\n", pos[1], path)
	case "disable", "enable":
		if len(pos) != 2 {
			return fmt.Errorf("usage: signet user %s NAME --users-file FILE", pos[0])
		}
		if err := userdb.SetDisabled(path, pos[1], pos[0] == "disable"); err != nil {
			return err
		}
		fmt.Printf("user %s %sd in %s\n", pos[1], pos[0], path)
	case "list", "ls":
		accts, err := userdb.List(path)
		if err != nil {
			return err
		}
		for _, a := range accts {
			if a.Disabled {
				fmt.Println(a.Name, "(disabled)")
			} else {
				fmt.Println(a.Name)
			}
		}
	default:
		return fmt.Errorf("unknown user subcommand %q (add, passwd, del, disable, enable, list)", pos[0])
	}
	return nil
}

// usersFilePath resolves the users file from the flags or the default
// configuration's state directory.
func usersFilePath(usersFile, configPath string) (string, error) {
	if usersFile != "" {
		return usersFile, nil
	}
	if configPath != "" {
		cfg, _, err := policy.Load(configPath)
		if err != nil {
			return "", err
		}
		return cfg.UsersFile, nil
	}
	dir, err := policy.DefaultStateDir()
	if err != nil {
		return "", err
	}
	cfg, _, err := policy.LoadDefault(dir)
	if err != nil {
		return "", err
	}
	return cfg.UsersFile, nil
}

// passwordStdin is --password-stdin of `signet user`.
var passwordStdin bool

// userExists reports an error unless name is an account of the file.
func userExists(path, name string) error {
	accts, err := userdb.List(path)
	if err != nil {
		return err
	}
	for _, a := range accts {
		if strings.EqualFold(a.Name, name) {
			return nil
		}
	}
	return fmt.Errorf("no user %q in %s (signet user add %s creates it)", name, path, name)
}

// password reads SIGNET_PASSWORD, standard input with --password-stdin,
// or prompts twice without echo.
func password(user string) (string, error) {
	if pw := os.Getenv("SIGNET_PASSWORD"); pw != "" {
		return pw, nil
	}
	if passwordStdin {
		return readPasswordLine(os.Stdin)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no password: set SIGNET_PASSWORD or run on a terminal")
	}
	fmt.Fprintf(os.Stderr, "New password for %s: ", user)
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "Retype password: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("passwords do not match")
	}
	if len(a) == 0 {
		return "", errors.New("empty password")
	}
	return string(a), nil
}

const policyUsage = `policy SUBCOMMAND [--config FILE]

subcommands:
  show               print every effective value and where it came from
  set KEY=VALUE ...  change the running server's configuration file and
                     apply it without a restart (through the admin socket);
                     e.g. policy set --config F server.require_signing=audit

flags:`

func runPolicy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	var a adminFlags
	a.register(fs, true)
	allowUnknown := fs.Bool("allow-unknown", false, "show: accept keys this version does not know")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: signet %s\n", policyUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) >= 1 && pos[0] == "set" {
		return policySet(ctx, &a, pos[1:])
	}
	if len(pos) != 1 || pos[0] != "show" {
		fs.Usage()
		return &exitError{code: 2}
	}
	configPath := &a.config
	var cfg *policy.Config
	if *configPath != "" && *allowUnknown {
		cfg, _, err = policy.LoadAllowUnknown(*configPath)
	} else if *configPath != "" {
		cfg, _, err = policy.Load(*configPath)
	} else {
		var dir string
		if dir, err = policy.DefaultStateDir(); err == nil {
			cfg, _, err = policy.LoadDefault(dir)
		}
	}
	if err != nil {
		return err
	}
	if err := cfg.WriteText(os.Stdout); err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(os.Stderr, "warning:", strings.TrimSpace(w.String()))
	}
	return nil
}

// readPasswordLine reads one line from r (--password-stdin), without its
// line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return pw, nil
}
