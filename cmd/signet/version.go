package main

import (
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

// commit is set by release builds: -ldflags "-X main.commit=$(git rev-parse HEAD)".
// Without it the VCS revision Go records in the binary is used.
var commit string

// versionString is "MODULE-VERSION (commit C[, modified], GO)".
func versionString() string {
	version, rev, dirty, gover := "(devel)", commit, false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		gover = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	var parts []string
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		c := "commit " + rev
		if dirty {
			c += ", modified"
		}
		parts = append(parts, c)
	} else {
		parts = append(parts, "commit unknown")
	}
	if gover != "" {
		parts = append(parts, gover)
	}
	return fmt.Sprintf("%s (%s)", version, strings.Join(parts, ", "))
}

// parseFlags parses a command's flags; --help prints the usage line and
// the flags and comes back as flag.ErrHelp, which main turns into exit 0.
func parseFlags(fs *flag.FlagSet, args []string, synopsis string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: signet %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs.Parse(args)
}
