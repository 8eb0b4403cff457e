package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/signetsmb/signet/bench/internal/peers"
	"github.com/signetsmb/signet/client"
)

const (
	user     = peers.User
	password = peers.Password
	readName = "bench-r.bin" // placed in the share for reads
	putName  = "bench-w.bin" // written by the clients
)

// server is a running server under test.
type server struct {
	name  string
	addr  string
	share string // its share's folder on this machine
	pids  func() []int
}

// payload is the random test file every transfer moves.
type payload struct {
	path string
	sum  [32]byte
	size int64
	data []byte // the payload in memory, read on first use (memory-to-memory cases)
	sink []byte // where memory-to-memory reads land, made once and reused
	got  []byte // what the last memory-to-memory read received (in sink)
}

// prepareMemory reads the payload into memory and makes the sink the
// memory-to-memory cases need, so that neither is done (and counted as
// the client's CPU) during a transfer. The sink is made and touched once:
// a fresh 1 GiB per run would make the kernel fault in and zero its pages
// while the server is timed.
func (p *payload) prepareMemory() error {
	data, err := p.bytes()
	if err != nil {
		return err
	}
	if p.sink == nil {
		p.sink = make([]byte, p.size)
		copy(p.sink, data)
	}
	return nil
}

// bytes returns the payload in memory.
func (p *payload) bytes() ([]byte, error) {
	if p.data == nil {
		b, err := os.ReadFile(p.path)
		if err != nil {
			return nil, err
		}
		p.data = b
	}
	return p.data, nil
}

func makePayload(path string, size int64) (*payload, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, size); err != nil {
		return nil, err
	}
	return &payload{path: path, sum: [32]byte(h.Sum(nil)), size: size}, f.Close()
}

// place puts the payload into a server's share for the reads (a hard link
// on the same file system, else a copy), readable by every user.
func (p *payload) place(share string) error {
	dst := filepath.Join(share, readName)
	os.Remove(dst)
	if os.Link(p.path, dst) != nil {
		in, err := os.Open(p.path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	return os.Chmod(dst, 0o644)
}

func fileSum(p string) ([32]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	return [32]byte(h.Sum(nil)), err
}

// clientKind is which program moves the bytes.
type clientKind int

const (
	kindSmbclient clientKind = iota
	kindSignet
	kindGoSMB2
)

// xfer is one client configuration of the transfer matrix.
type xfer struct {
	client   string // as named in results
	kind     clientKind
	dialect  uint16
	alg      uint16 // Signet client, 3.1.1: the one signing algorithm offered
	cipher   uint16 // require encryption with this cipher (0: none)
	unsigned bool   // Signet client with signing allowed off
	memory   bool   // Signet client: from and into memory, no local file
	// unchecked: the bytes read are not the payload (the null share of
	// the bound part), so a memory-to-memory read is not checked.
	unchecked bool
}

var (
	xSmbGMAC  = xfer{client: cliSmbGMAC, kind: kindSmbclient, dialect: client.Dialect311}
	xSmbCMAC  = xfer{client: cliSmbCMAC, kind: kindSmbclient, dialect: client.Dialect302}
	xSigGMAC  = xfer{client: cliSigGMAC, kind: kindSignet, dialect: client.Dialect311, alg: client.SigningAESGMAC}
	xSigMem   = xfer{client: cliSigMem, kind: kindSignet, dialect: client.Dialect311, alg: client.SigningAESGMAC, memory: true}
	xSigCMAC  = xfer{client: cliSigCMAC, kind: kindSignet, dialect: client.Dialect302}
	xSigHMAC  = xfer{client: cliSigHMAC, kind: kindSignet, dialect: client.Dialect311, alg: client.SigningHMACSHA256}
	xGoSMB2   = xfer{client: cliGoSMB2, kind: kindGoSMB2, dialect: client.Dialect302}
	xSmbEnc   = xfer{client: cliSmbEnc, kind: kindSmbclient, dialect: client.Dialect311, cipher: client.CipherAES128GCM}
	xSmbCCM   = xfer{client: cliSmbCCM, kind: kindSmbclient, dialect: client.Dialect302, cipher: client.CipherAES128CCM}
	xSigEnc   = xfer{client: cliSigEnc, kind: kindSignet, dialect: client.Dialect311, alg: client.SigningAESGMAC, cipher: client.CipherAES128GCM}
	xSigNoSig = xfer{client: cliSigNoSign, kind: kindSignet, dialect: client.Dialect311, alg: client.SigningAESGMAC, unsigned: true}
)

// moved is what one transfer measured.
type moved struct {
	rate      float64 // MB/s
	serverCPU float64 // the server's CPU seconds per GiB moved
	// clientCPU is the client's CPU seconds per GiB moved: smbclient's
	// process (from its rusage), or for the Go clients, which run in this
	// process, this process's (getrusage) during the transfer, the check
	// afterwards left out. Both include the logon and the local file's
	// reads or writes.
	clientCPU float64
}

// run moves the payload once (op "read" or "write") and returns the rate
// and the CPU the server and the client spent per GiB. Every transfer is
// checked against the payload's SHA-256 afterwards, but the null share's
// (x.unchecked), which stores nothing.
func (x xfer) run(srv *server, p *payload, op, work string) (m moved, err error) {
	local := filepath.Join(work, "download.bin")
	defer os.Remove(local)
	if x.memory {
		if err := p.prepareMemory(); err != nil {
			return moved{}, err
		}
	}
	before := serverCPU(srv.pids())
	selfBefore := selfCPU()
	var childCPU float64
	switch x.kind {
	case kindSmbclient:
		m.rate, childCPU, err = x.smbclient(srv, p, op, local)
	case kindSignet:
		m.rate, err = x.signet(srv, p, op, local)
	case kindGoSMB2:
		m.rate, err = x.goSMB2(srv, p, op, local)
	}
	if err != nil {
		return moved{}, err
	}
	gib := float64(p.size) / (1 << 30)
	if x.kind == kindSmbclient {
		m.clientCPU = childCPU / gib
	} else {
		m.clientCPU = (selfCPU() - selfBefore) / gib
	}
	// smbd ends (and is reaped) after its client leaves: let that happen
	// so its CPU time is in the parent's account.
	time.Sleep(100 * time.Millisecond)
	m.serverCPU = (serverCPU(srv.pids()) - before) / gib
	if x.unchecked {
		return m, nil // the null share's bytes are not the payload
	}
	if x.memory && op == "read" {
		if int64(len(p.got)) != p.size || sha256.Sum256(p.got) != p.sum {
			return moved{}, fmt.Errorf("%s read: the copy differs from the original (%d bytes, SHA-256)", x.client, len(p.got))
		}
		return m, nil
	}
	check := local
	if op == "write" {
		check = filepath.Join(srv.share, putName)
		defer os.Remove(check)
	}
	got, err := fileSum(check)
	if err != nil {
		return moved{}, fmt.Errorf("%s %s: checking the copy: %w", x.client, op, err)
	}
	if got != p.sum {
		return moved{}, fmt.Errorf("%s %s: the copy differs from the original (SHA-256)", x.client, op)
	}
	return m, nil
}

var smbclientProto = map[uint16]string{client.Dialect302: "SMB3_02", client.Dialect311: "SMB3_11"}

// smbclientRate reads the rate smbclient prints for get and put
// ("(123456.7 KiloBytes/sec)", KiB per second) as MB/s.
var smbclientRateRE = regexp.MustCompile(`\(([0-9.]+) KiloBytes/sec\)`)

func smbclientRate(out []byte) (float64, bool) {
	m := smbclientRateRE.FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v * 1024 / 1e6, err == nil && v > 0
}

// smbclientArgs is the command line for one smbclient transfer: one
// dialect, signing required, and for 3.1.1 one signing algorithm (GMAC);
// or encryption required with the case's one cipher (3.0.2 has only
// AES-128-CCM).
func (x xfer) smbclientArgs(addr, cmd string) []string {
	_, port, _ := net.SplitHostPort(addr)
	proto := smbclientProto[x.dialect]
	args := []string{"//127.0.0.1/share", "-p", port, "-U", user + "%" + password,
		"-m", proto, "--option=client min protocol=" + proto, "--option=client signing=required"}
	if x.dialect == client.Dialect311 {
		args = append(args, "--option=client smb3 signing algorithms=AES-128-GMAC")
	}
	if x.cipher != 0 {
		args = append(args, "--option=client smb encrypt=required", "--option=client smb3 encryption algorithms="+client.CipherName(x.cipher))
	}
	return append(args, "-c", cmd)
}

// smbclient runs one get or put. The rate is smbclient's own (the transfer
// without process start and logon, like the Go clients' figures); the
// wall-clock rate is the fallback. cpu is the seconds smbclient's process
// used, start-up and logon included.
func (x xfer) smbclient(srv *server, p *payload, op, local string) (rate, cpu float64, err error) {
	cmd := "get " + readName + " " + local
	if op == "write" {
		cmd = "put " + p.path + " " + putName
	}
	t0 := time.Now()
	c := exec.Command("smbclient", x.smbclientArgs(srv.addr, cmd)...)
	out, err := c.CombinedOutput()
	el := time.Since(t0)
	if err != nil {
		return 0, 0, fmt.Errorf("smbclient %s: %v\n%s", cmd, err, out)
	}
	if ps := c.ProcessState; ps != nil {
		cpu = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if r, ok := smbclientRate(out); ok {
		return r, cpu, nil
	}
	return mbps(p.size, el), cpu, nil
}

// dialer is the Signet client's configuration for this case.
func (x xfer) dialer() *client.Dialer {
	d := &client.Dialer{User: user, Password: password, RequireSigning: !x.unsigned, AllowUnsigned: x.unsigned,
		MinDialect: x.dialect, MaxDialect: x.dialect, Timeout: 5 * time.Minute}
	if x.dialect == client.Dialect311 {
		d.SigningAlgorithms = []uint16{x.alg}
	}
	if x.cipher != 0 {
		d.RequireEncryption = true
		d.Ciphers = []uint16{x.cipher}
	}
	return d
}

// signetSession dials and checks that the session is what the case says.
func (x xfer) signetSession(addr string) (*client.Session, *client.Share, error) {
	ctx := context.Background()
	s, err := x.dialer().Dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*client.Session, *client.Share, error) { s.Close(); return nil, nil, err }
	switch {
	case s.Signed() == x.unsigned && x.cipher == 0:
		return fail(fmt.Errorf("%s: session signed = %v", x.client, s.Signed()))
	case x.dialect == client.Dialect311 && !x.unsigned && x.cipher == 0 && s.SigningAlgorithm() != x.alg:
		return fail(fmt.Errorf("%s: signing algorithm %d negotiated", x.client, s.SigningAlgorithm()))
	case x.cipher != 0 && (!s.Encrypted() || s.Cipher() != x.cipher):
		return fail(fmt.Errorf("%s: not encrypted with %s", x.client, client.CipherName(x.cipher)))
	}
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		return fail(err)
	}
	return s, sh, nil
}

// signet moves the payload with the Signet client; the time covers open,
// transfer and close (not the logon).
func (x xfer) signet(srv *server, p *payload, op, local string) (float64, error) {
	s, sh, err := x.signetSession(srv.addr)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	defer sh.Umount()
	if x.memory {
		return x.signetMemory(sh, p, op)
	}
	if op == "write" {
		in, err := os.Open(p.path)
		if err != nil {
			return 0, err
		}
		defer in.Close()
		el, err := signetUpload(sh, in)
		if err != nil {
			return 0, err
		}
		return mbps(p.size, el), nil
	}
	out, err := os.Create(local)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	n, el, err := signetDownload(sh, out)
	if err != nil {
		return 0, err
	}
	if n != p.size {
		return 0, fmt.Errorf("read %d bytes of %d", n, p.size)
	}
	return mbps(p.size, el), out.Close()
}

// signetUpload creates putName and fills it from r; it returns the time
// from the CREATE to the end of the CLOSE.
func signetUpload(sh *client.Share, r io.Reader) (time.Duration, error) {
	t0 := time.Now()
	f, err := sh.Create(putName)
	if err != nil {
		return 0, err
	}
	if _, err := f.ReadFrom(r); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// signetDownload reads readName into w; it returns the bytes read and the
// time from the CREATE to the end of the CLOSE.
func signetDownload(sh *client.Share, w io.Writer) (int64, time.Duration, error) {
	t0 := time.Now()
	f, err := sh.OpenFile(readName, os.O_RDONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	n, err := f.WriteTo(w)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	return n, time.Since(t0), nil
}

// goSMB2 moves the payload with cloudsoda/go-smb2 (3.0.2, so AES-CMAC).
func (x xfer) goSMB2(srv *server, p *payload, op, local string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		return 0, err
	}
	d := &smb2.Dialer{
		Initiator:  &smb2.NTLMInitiator{User: user, Password: password},
		Negotiator: smb2.Negotiator{RequireMessageSigning: true, SpecifiedDialect: x.dialect},
	}
	sess, err := d.DialConn(ctx, conn, srv.addr)
	if err != nil {
		conn.Close()
		return 0, fmt.Errorf("go-smb2: %w", err)
	}
	defer sess.Logoff()
	fs, err := sess.Mount("share")
	if err != nil {
		return 0, fmt.Errorf("go-smb2: %w", err)
	}
	defer fs.Umount()
	if op == "write" {
		in, err := os.Open(p.path)
		if err != nil {
			return 0, err
		}
		defer in.Close()
		t0 := time.Now()
		f, err := fs.Create(putName)
		if err != nil {
			return 0, err
		}
		if _, err := f.ReadFrom(in); err != nil {
			f.Close()
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		return mbps(p.size, time.Since(t0)), nil
	}
	out, err := os.Create(local)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	t0 := time.Now()
	f, err := fs.Open(readName)
	if err != nil {
		return 0, err
	}
	n, err := f.WriteTo(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	el := time.Since(t0)
	if n != p.size {
		return 0, errors.New("go-smb2: short read")
	}
	return mbps(p.size, el), out.Close()
}

// signetMemory moves the payload with the Signet client from memory
// (write) or into memory (read), so that no local file I/O is timed: the
// shape of the TCP ceiling on the client's side. What a read received is
// left in p.got for run to check against the payload's SHA-256, after
// the clock stops and the client's CPU is taken.
func (x xfer) signetMemory(sh *client.Share, p *payload, op string) (float64, error) {
	data, err := p.bytes()
	if err != nil {
		return 0, err
	}
	if op == "write" {
		el, err := signetUpload(sh, bytes.NewReader(data))
		if err != nil {
			return 0, err
		}
		return mbps(p.size, el), nil
	}
	if err := p.prepareMemory(); err != nil {
		return 0, err
	}
	into := &sliceWriter{b: p.sink[:0]}
	n, el, err := signetDownload(sh, into)
	p.got = into.b
	if err != nil {
		return 0, err
	}
	if n != p.size {
		return 0, fmt.Errorf("%s read: %d bytes of %d", x.client, n, p.size)
	}
	return mbps(p.size, el), nil // run checks the bytes, after the client's CPU is taken
}

// sliceWriter appends to a slice made large enough beforehand.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
