package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

func init() {
	registerCommand("completion", "print a shell completion script: completion bash|zsh (e.g. source <(signet completion bash))", runCompletion)
}

// subcommands of the commands that have them, for completion.
var subcommands = map[string][]string{
	"user":     {"add", "passwd", "del", "disable", "enable", "list"},
	"policy":   {"show", "set"},
	"audit":    {"report"},
	"sessions": {"close"},
}

func runCompletion(_ context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Println("usage: signet completion bash|zsh\n\nbash: source <(signet completion bash)\nzsh:  source <(signet completion zsh)")
		return nil
	}
	if len(args) != 1 || (args[0] != "bash" && args[0] != "zsh") {
		return &exitError{code: 2, msg: "usage: signet completion bash|zsh"}
	}
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	if args[0] == "zsh" {
		b.WriteString("autoload -U +X bashcompinit && bashcompinit\n")
	}
	fmt.Fprintf(&b, `_signet() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "%s --version --help" -- "$cur"))
		return
	fi
	case "$cur" in
	-*) COMPREPLY=($(compgen -W "$(signet "${COMP_WORDS[1]}" --help 2>&1 | sed -n 's/^  \(-[A-Za-z-]*\).*/-\1/p')" -- "$cur")); return ;;
	esac
	if [ "$COMP_CWORD" -eq 2 ]; then
		case "${COMP_WORDS[1]}" in
`, strings.Join(names, " "))
	subs := make([]string, 0, len(subcommands))
	for c := range subcommands {
		subs = append(subs, c)
	}
	sort.Strings(subs)
	for _, c := range subs {
		fmt.Fprintf(&b, "\t\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", c, strings.Join(subcommands[c], " "))
	}
	b.WriteString("\t\tesac\n\tfi\n\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n}\ncomplete -F _signet signet\n")
	fmt.Print(b.String())
	return nil
}
