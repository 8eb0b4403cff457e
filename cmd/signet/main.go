// Command signet is Signet's SMB2/SMB3 server and client.
//
//	signet serve [--config FILE] [--listen HOST:PORT]
//	signet user add|del|disable|enable|list NAME --users-file FILE
//	signet policy show [--config FILE]
//	signet ls|get|put|rm|mkdir|mv|stat|shares|probe ...   (client)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type cliCommand struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// registry holds every subcommand; files register theirs from init().
var registry = map[string]cliCommand{}

// registerCommand adds a subcommand.
func registerCommand(name, summary string, run func(ctx context.Context, args []string) error) {
	registry[name] = cliCommand{summary: summary, run: run}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: signet <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, registry[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'signet <command> --help' for the flags of a command, 'signet --version' for the version.")
}

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version" || os.Args[1] == "version") {
		fmt.Println("signet", versionString())
		return
	}
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := registry[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "signet: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.run(ctx, os.Args[2:])
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return // the usage was printed on request
	}
	if err != nil {
		var ec interface{ ExitCode() int }
		code := 1
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		if msg := explainError(os.Args[1], err); msg != "" {
			fmt.Fprintf(os.Stderr, "signet %s: %s\n", os.Args[1], msg)
		}
		os.Exit(code)
	}
}
