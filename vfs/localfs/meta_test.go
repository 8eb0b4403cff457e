//go:build linux

package localfs_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/signetsmb/signet/vfs"
)

func TestMetaRecord(t *testing.T) {
	ctx := context.Background()
	fsys := newShare(t)
	f, err := fsys.OpenFile(ctx, "a", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mf := f.(vfs.MetaFile)
	if b, err := mf.Meta(); err != nil || b != nil {
		t.Fatalf("fresh file: %q, %v", b, err)
	}
	rec := []byte{1, 2, 3}
	if err := mf.SetMeta(rec); errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("no user xattrs here")
	} else if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(ctx, "a", "b", false); err != nil {
		t.Fatal(err)
	}
	if b, err := mf.Meta(); err != nil || !bytes.Equal(b, rec) {
		t.Errorf("after rename, by handle: %q, %v", b, err)
	}
	mfs := fsys.(vfs.MetaFS)
	if b, err := mfs.Meta(ctx, "b"); err != nil || !bytes.Equal(b, rec) {
		t.Errorf("by name: %q, %v", b, err)
	}
	if _, err := mfs.Meta(ctx, "a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old name: %v", err)
	}
	if _, err := mfs.Meta(ctx, "../x"); err == nil {
		t.Error("name outside the root accepted")
	}
	if err := mf.SetMeta(make([]byte, vfs.MaxMetaSize+1)); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("oversized record: %v", err)
	}
	if err := mf.SetMeta(nil); err != nil {
		t.Fatal(err)
	}
	if b, err := mfs.Meta(ctx, "b"); err != nil || b != nil {
		t.Errorf("removed record: %q, %v", b, err)
	}
}

// Times past 2262 overflow UnixNano; SetTimes must keep them.
func TestSetTimesFarFuture(t *testing.T) {
	ctx := context.Background()
	fsys := newShare(t)
	f, err := fsys.OpenFile(ctx, "a", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := time.Unix(10000000000, 0) // 2286
	if err := f.(vfs.FileTimeSetter).SetTimes(time.Time{}, want); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime.Equal(want) {
		t.Errorf("mtime %v, want %v", fi.ModTime, want)
	}
}
