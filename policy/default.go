package policy

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed default.toml
var defaultTOML string

// DefaultName labels the embedded configuration in messages.
const DefaultName = "built-in default config"

// DefaultConfig returns the text of the embedded default configuration, for
// example to write out as a starting point. It requires signing explicitly,
// listens on 127.0.0.1:4445 and defines one share "share" at the relative
// path "share". It returns a new copy on every call.
func DefaultConfig() []byte {
	return []byte(defaultTOML)
}

// LoadDefault parses the embedded default configuration with stateDir as
// its folder: the share is stateDir/share and the users file
// stateDir/users. stateDir and stateDir/share are created (mode 0700) if
// missing. The returned Config has no Path, so Store.Reload is a no-op.
func LoadDefault(stateDir string) (*Config, []Warning, error) {
	share := filepath.Join(stateDir, "share")
	if err := os.MkdirAll(share, 0o700); err != nil {
		return nil, nil, &FieldError{File: DefaultName, Key: "share[0].path",
			Message: fmt.Sprintf("cannot create share folder: %v", err)}
	}
	return Parse([]byte(defaultTOML), stateDir, DefaultName)
}

// DefaultStateDir returns the folder for Signet's state when no
// configuration file is given: $XDG_DATA_HOME/signet when XDG_DATA_HOME is
// set to an absolute path, else ~/.local/share/signet. It does not create
// the folder.
func DefaultStateDir() (string, error) {
	return stateDir(os.Getenv, os.UserHomeDir)
}

func stateDir(getenv func(string) string, home func() (string, error)) (string, error) {
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "signet"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("cannot find the state directory: %w", err)
	}
	return filepath.Join(h, ".local", "share", "signet"), nil
}
