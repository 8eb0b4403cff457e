package policy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// SetKey returns the configuration text data with the scalar key
// ("server.require_signing", "limits.max_opens", "log.level") set to
// value, for `signet policy set KEY=VALUE`. value is taken as TOML when it
// is a boolean, an integer, a quoted string or an array, and as a string
// otherwise (require_signing=audit sets "audit"). The line holding the
// key is replaced (its comment goes); a missing key is added at the end
// of its table, a missing table at the end of the file. Only keys of the
// single tables ([server], [client], [limits], [metrics], [log]) can be
// set; shares and interfaces are edited in the file.
func SetKey(data []byte, key, value string) ([]byte, error) {
	table, leaf, ok := strings.Cut(key, ".")
	if !ok || strings.Contains(leaf, ".") {
		return nil, fmt.Errorf("%q: want TABLE.KEY, such as server.require_signing", key)
	}
	switch table {
	case "server", "client", "limits", "metrics", "log":
	default:
		return nil, fmt.Errorf("%q: only keys of [server], [client], [limits], [metrics] and [log] can be set; edit the file for [[%s]]", key, table)
	}
	if !knownKey(key) {
		hint := ""
		if s := suggestKey(key); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%q: unknown key%s", key, hint)
	}
	line := leaf + " = " + tomlLiteral(value)
	lines := strings.Split(string(data), "\n")
	cur, tableEnd, found := "", -1, false
	keyRe := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(leaf) + `\s*=`)
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			cur = strings.Trim(strings.TrimSpace(strings.SplitN(t, "#", 2)[0]), "[] ")
			continue
		}
		if cur != table {
			continue
		}
		if t != "" && !strings.HasPrefix(t, "#") {
			tableEnd = i
		}
		if keyRe.MatchString(l) {
			if v := strings.SplitN(l, "=", 2)[1]; strings.Count(v, "[") != strings.Count(v, "]") ||
				strings.Contains(v, `"""`) || strings.Contains(v, "'''") {
				return nil, fmt.Errorf("%q spans several lines in the file; edit the file instead", key)
			}
			lines[i] = line
			found = true
		}
	}
	switch {
	case found:
	case tableEnd >= 0 || hasTable(lines, table):
		at := tableEnd + 1
		if tableEnd < 0 {
			at = tableHeader(lines, table) + 1
		}
		lines = append(lines[:at], append([]string{line}, lines[at:]...)...)
	default:
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		lines = append(lines, "", "["+table+"]", line, "")
	}
	return []byte(strings.Join(lines, "\n")), nil
}

func knownKey(key string) bool {
	for _, k := range KnownKeys() {
		if k == key {
			return true
		}
	}
	return false
}

func hasTable(lines []string, table string) bool { return tableHeader(lines, table) >= 0 }

func tableHeader(lines []string, table string) int {
	for i, l := range lines {
		t := strings.TrimSpace(strings.SplitN(l, "#", 2)[0])
		if t == "["+table+"]" {
			return i
		}
	}
	return -1
}

// tomlLiteral renders a command-line value as TOML.
func tomlLiteral(v string) string {
	v = strings.TrimSpace(v)
	if v == "true" || v == "false" {
		return v
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "[") {
		return v
	}
	return strconv.Quote(v)
}

// SetInFile sets key=value in the configuration file at path after
// checking that the result is a valid configuration (the file is left
// alone otherwise), and replaces the file atomically with the same mode.
// The caller reloads the Store afterwards.
func SetInFile(path, key, value string, allowUnknown bool) error {
	return editConfigFile(path, allowUnknown, ".signet-policy-set-*", " (edit the file and send SIGHUP instead)",
		func(data []byte) ([]byte, error) { return SetKey(data, key, value) })
}

// editConfigFile rewrites the configuration file at path with edit's
// result, after checking that the result parses: the new file is written
// beside it (tmpPattern), with its mode, synced and renamed over it, so a
// reader sees the old file or the new one, never a part. Nothing is
// written when edit changes nothing. hint is added to the error when the
// folder cannot be written.
func editConfigFile(path string, allowUnknown bool, tmpPattern, hint string, edit func(data []byte) ([]byte, error)) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	data, err := readTrusted(abs)
	if err != nil {
		return err
	}
	next, err := edit(data)
	if err != nil {
		return err
	}
	if _, _, err := parse(next, filepath.Dir(abs), abs, osEnv(), allowUnknown); err != nil {
		return err
	}
	if bytes.Equal(next, data) {
		return nil
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), tmpPattern)
	if err != nil {
		return fmt.Errorf("cannot write the config file's folder%s: %v", hint, unwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(next); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), abs)
}

// AllowsUnknown reports whether the snapshot was loaded with
// LoadAllowUnknown.
func (c *Config) AllowsUnknown() bool { return c.allowUnknown }
