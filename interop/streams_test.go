package interop

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSmbclientStreams: smbclient writes a named stream with
// `put local file:stream`, `allinfo` lists it next to the unnamed stream
// with its size, `get file:stream` reads it back, and on disk it is an
// extended attribute of the file (user.signet.stream.NAME), not a file
// next to it. A Finder-style AFP_AfpInfo stream (60 bytes) works the same;
// a 200 KiB AFP_Resource stream goes to a sidecar that `ls` does not show.
func TestSmbclientStreams(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	dir := t.TempDir()
	main := filepath.Join(dir, "main")
	stream := filepath.Join(dir, "stream")
	afp := filepath.Join(dir, "afp")
	got := filepath.Join(dir, "got")
	res := filepath.Join(dir, "res")
	gotRes := filepath.Join(dir, "gotres")
	resource := bytes.Repeat([]byte("resource fork "), 200<<10/14)
	mustWrite(t, res, resource)
	mustWrite(t, main, []byte("main data"))
	mustWrite(t, stream, []byte("hello stream\n"))
	afpInfo := append([]byte("AFP\x00\x00\x01\x00\x00"), make([]byte, 52)...)
	mustWrite(t, afp, afpInfo)
	out, err := smbclient(t, s.port, "SMB3_11", "required",
		"put "+main+" f.txt; put "+stream+" f.txt:mystream; put "+afp+" f.txt:AFP_AfpInfo; put "+res+" f.txt:AFP_Resource; allinfo f.txt; get f.txt:mystream "+got+"; get f.txt:AFP_Resource "+gotRes+"; ls")
	if err != nil {
		t.Fatalf("smbclient: %v\n%s", err, out)
	}
	for _, want := range []string{"stream: [::$DATA], 9 bytes", "stream: [:mystream:$DATA], 13 bytes", "stream: [:AFP_AfpInfo:$DATA], 60 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("allinfo does not show %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != "hello stream\n" {
		t.Errorf("stream read back %q, %v", b, err)
	}
	if b, err := os.ReadFile(gotRes); err != nil || !bytes.Equal(b, resource) {
		t.Errorf("large stream read back %d bytes, %v", len(b), err)
	}
	if strings.Contains(out, ".signet-streams") {
		t.Errorf("ls shows the sidecar directory:\n%s", out)
	}
	onDisk := filepath.Join(s.share, "f.txt")
	if b, err := os.ReadFile(onDisk); err != nil || string(b) != "main data" {
		t.Errorf("main stream on disk %q, %v", b, err)
	}
	buf := make([]byte, 128)
	n, err := unix.Getxattr(onDisk, "user.signet.stream.AFP_AfpInfo", buf)
	if err != nil || !bytes.Equal(buf[:n], afpInfo) {
		t.Errorf("AFP_AfpInfo xattr: %v % x", err, buf[:max(n, 0)])
	}
	ents, _ := os.ReadDir(s.share)
	if len(ents) != 2 {
		t.Errorf("share holds %d entries, want f.txt and the sidecar directory", len(ents))
	}
}

func mustWrite(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
