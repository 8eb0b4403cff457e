package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/policy"
)

func init() {
	registerCommand("user", "manage users: user add|del|disable|enable|list [NAME] --users-file FILE", runUser)
	registerCommand("policy", "show the effective configuration (signing, limits, shares): policy show [--config FILE]", runPolicy)
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

func runUser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	usersFile := fs.String("users-file", "", "users file (NT hashes, mode 0600)")
	configPath := fs.String("config", "", "take the users file from this configuration")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("usage: signet user add|del|disable|enable|list [NAME] --users-file FILE")
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
		return fmt.Errorf("unknown user subcommand %q (add, del, disable, enable, list)", pos[0])
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

// password reads SIGNET_PASSWORD or prompts twice without echo.
func password(user string) (string, error) {
	if pw := os.Getenv("SIGNET_PASSWORD"); pw != "" {
		return pw, nil
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

func runPolicy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file; the embedded default when omitted")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "show" {
		return errors.New("usage: signet policy show [--config FILE]")
	}
	var cfg *policy.Config
	if *configPath != "" {
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
