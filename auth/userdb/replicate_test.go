package userdb

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReplicateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if _, err := ReadFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "users")
	if err := WriteFile(other, data); err != nil {
		t.Fatal(err)
	}
	db, err := Load(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.Lookup("alice"); !ok {
		t.Fatal("replicated users file lacks alice")
	}
	if fi, _ := os.Stat(other); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("bob:nothex:\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil {
		t.Fatal("invalid users file read for the cluster")
	}
	if err := WriteFile(other, []byte("bob:nothex:\n")); err == nil {
		t.Fatal("invalid users file written")
	}
	if db, err := Load(other); err != nil || len(db.Users()) != 1 {
		t.Fatalf("file changed by a refused document: %v %v", db, err)
	}
}
