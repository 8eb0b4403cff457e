package server

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of IOCTL [MS-SMB2 3.3.5.15] and named pipes on IPC$ through the
// tester.

// TestValidateNegotiate: FSCTL_VALIDATE_NEGOTIATE_INFO repeating the
// NEGOTIATE gets the server's view; any difference ends the connection;
// on 3.1.1 it ends the connection; a server limited to 2.0.2 answers
// STATUS_FILE_CLOSED [MS-SMB2 3.3.5.15.12].
func TestValidateNegotiate(t *testing.T) {
	dialects := []uint16{wire.Dialect202, wire.Dialect210, wire.Dialect300}
	vni := func(d []uint16) []byte {
		return wire.AppendValidateNegotiateInfo(nil, &wire.ValidateNegotiateInfo{Capabilities: wire.CapLargeMTU | wire.CapDirectoryLeasing, // as the tester negotiates
			GUID: testClientGUID, SecurityMode: wire.SigningEnabled, Dialects: d})
	}
	tc := newTester(t, nil)
	tc.negotiate(dialects...)
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	ir, st := tc.ioctl(wire.AllOnes, wire.FsctlValidateNegotiateInfo, vni(dialects), 24)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	v, err := wire.ParseValidateNegotiateResponse(ir.Output)
	if err != nil || v.Dialect != wire.Dialect300 || v.GUID != tc.neg.ServerGUID || v.SecurityMode != tc.neg.SecurityMode {
		t.Fatalf("response %+v, %v", v, err)
	}
	tc.ioctlReqSend(wire.FsctlValidateNegotiateInfo, vni(dialects[:2]), 24)
	tc.expectClosed()

	tc = newSessionTester(t, nil, wire.Dialect311)
	tc.ioctlReqSend(wire.FsctlValidateNegotiateInfo, vni([]uint16{wire.Dialect311}), 24)
	tc.expectClosed()

	// 2.0.2 connections are validated too (a man in the middle may have
	// stripped every later dialect), unless the server stops at 2.0.2.
	tc = newSessionTester(t, nil, wire.Dialect202)
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlValidateNegotiateInfo, vni([]uint16{wire.Dialect202}), 24); st != ntstatus.Success {
		t.Fatalf("2.0.2: %v", st)
	}
	tc = newSessionTester(t, &testerConfig{MaxDialect: wire.Dialect202}, wire.Dialect202)
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlValidateNegotiateInfo, vni([]uint16{wire.Dialect202}), 24); st != ntstatus.FileClosed {
		t.Fatalf("2.0.2-only server: %v", st)
	}
}

// ioctlReqSend sends an FSCTL on no handle without waiting.
func (tc *tester) ioctlReqSend(ctl uint32, in []byte, maxOut uint32) {
	tc.send(tc.ioctlReq(wire.AllOnes, ctl, in, maxOut))
}

// TestIoctlGeneral: Flags other than IS_FSCTL is STATUS_NOT_SUPPORTED,
// oversized buffers STATUS_INVALID_PARAMETER, an FSCTL the file system
// does not implement STATUS_INVALID_DEVICE_REQUEST on a file and
// STATUS_FILE_CLOSED without one; network interfaces and object ids.
func TestIoctlGeneral(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	f := tc.mustCreate("f")
	r := tc.ioctlReq(f, wire.FsctlGetCompression, nil, 16)
	r.msg[wire.HeaderSize+48] = 0 // Flags
	expectStatus(t, "not an FSCTL", tc.roundTrip(r), ntstatus.NotSupported)
	if _, st := tc.ioctl(f, wire.FsctlGetCompression, nil, tc.neg.MaxTransactSize+1); st != ntstatus.InvalidParameter {
		t.Errorf("huge output: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlDuplicateExtentsToFile, nil, 0); st != ntstatus.InvalidDeviceRequest {
		t.Errorf("unimplemented FSCTL on a file: %v", st)
	}
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlDuplicateExtentsToFile, nil, 0); st != ntstatus.FileClosed {
		t.Errorf("unimplemented FSCTL without a file: %v", st)
	}
	ir, st := tc.ioctl(wire.AllOnes, wire.FsctlQueryNetworkInterfaceInfo, nil, 4096)
	if st != ntstatus.Success || len(ir.Output) == 0 || len(ir.Output)%152 != 0 {
		t.Errorf("network interfaces: %v %d bytes", st, len(ir.Output))
	}
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlQueryNetworkInterfaceInfo, nil, 100); st != ntstatus.BufferTooSmall {
		t.Errorf("network interfaces in 100 bytes: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlQueryNetworkInterfaceInfo, nil, 4096); st != ntstatus.InvalidParameter {
		t.Errorf("network interfaces on a file: %v", st)
	}
	ir, st = tc.ioctl(f, wire.FsctlCreateOrGetObjectID, nil, 64)
	if st != ntstatus.Success || len(ir.Output) != 64 {
		t.Fatalf("object id: %v", st)
	}
	again, _ := tc.ioctl(f, wire.FsctlGetObjectID, nil, 64)
	if !bytes.Equal(again.Output, ir.Output) {
		t.Errorf("object id not stable")
	}
	if _, st := tc.ioctl(f, wire.FsctlGetObjectID, nil, 63); st != ntstatus.BufferTooSmall {
		t.Errorf("object id in 63 bytes: %v", st)
	}
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlGetObjectID, nil, 64); st != ntstatus.FileClosed {
		t.Errorf("object id without a file: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlPipeWait, nil, 0); st != ntstatus.InvalidDeviceRequest {
		t.Errorf("pipe wait on a disk share: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlPipeTransceive, []byte{1}, 16); st != ntstatus.InvalidDeviceRequest {
		t.Errorf("transceive on a file: %v", st)
	}
}

// chunk encodes one SRV_COPYCHUNK entry.
func chunk(src, dst uint64, n uint32) []byte {
	b := binary.LittleEndian.AppendUint64(nil, src)
	b = binary.LittleEndian.AppendUint64(b, dst)
	return append(binary.LittleEndian.AppendUint32(b, n), 0, 0, 0, 0) // Length, Reserved
}

// copyChunkInput encodes SRV_COPYCHUNK_COPY [MS-SMB2 2.2.31.1].
func copyChunkInput(key []byte, chunks ...[]byte) []byte {
	b := append([]byte(nil), key[:24]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(chunks)))
	b = append(b, 0, 0, 0, 0)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b
}

// TestServerSideCopy: FSCTL_SRV_REQUEST_RESUME_KEY and
// FSCTL_SRV_COPYCHUNK(_WRITE) copy ranges between files; limits are
// reported with STATUS_INVALID_PARAMETER, unknown keys are
// STATUS_OBJECT_NAME_NOT_FOUND [MS-SMB2 3.3.5.15.3, 3.3.5.15.6].
func TestServerSideCopy(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	src := tc.mustCreate("src")
	dst := tc.mustCreate("dst")
	data := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	tc.write(src, 0, data[:64<<10])
	tc.write(src, 64<<10, data[64<<10:])
	ir, st := tc.ioctl(src, wire.FsctlSrvRequestResumeKey, nil, 32)
	if st != ntstatus.Success || len(ir.Output) != 32 {
		t.Fatalf("resume key: %v", st)
	}
	key := ir.Output[:24]
	ir, st = tc.ioctl(dst, wire.FsctlSrvCopyChunkWrite, copyChunkInput(key, chunk(0, 0, 64<<10), chunk(64<<10, 64<<10, 64<<10)), 12)
	if st != ntstatus.Success || binary.LittleEndian.Uint32(ir.Output) != 2 || binary.LittleEndian.Uint32(ir.Output[8:]) != 128<<10 {
		t.Fatalf("copy: %v %x", st, ir.Output)
	}
	got, _ := tc.read(dst, 0, 128<<10)
	if !bytes.Equal(got, data) {
		t.Fatal("copied data differs")
	}
	ir, st = tc.ioctl(dst, wire.FsctlSrvCopyChunk, copyChunkInput(key, chunk(0, 0, 2<<20)), 12)
	if st != ntstatus.InvalidParameter || binary.LittleEndian.Uint32(ir.Output) != copyMaxChunks {
		t.Fatalf("chunk over the limit: %v", st)
	}
	if _, st := tc.ioctl(dst, wire.FsctlSrvCopyChunk, copyChunkInput(make([]byte, 24), chunk(0, 0, 1)), 12); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("unknown resume key: %v", st)
	}
	if _, st := tc.ioctl(dst, wire.FsctlSrvCopyChunk, copyChunkInput(key, chunk(1<<20, 0, 10)), 12); st != ntstatus.InvalidViewSize {
		t.Fatalf("source range past EOF: %v", st)
	}
	if _, st := tc.ioctl(dst, wire.FsctlSrvCopyChunk, key, 12); st != ntstatus.InvalidParameter {
		t.Fatalf("short input: %v", st)
	}
	dir := tc.mustMkdir("d")
	if _, st := tc.ioctl(dir, wire.FsctlSrvRequestResumeKey, nil, 32); st != ntstatus.InvalidParameter {
		t.Fatalf("resume key of a directory: %v", st)
	}
	if _, st := tc.ioctl(src, wire.FsctlSrvRequestResumeKey, nil, 16); st != ntstatus.InvalidParameter {
		t.Fatalf("resume key in 16 bytes: %v", st)
	}
	tc.closeFile(src)
	if _, st := tc.ioctl(dst, wire.FsctlSrvCopyChunk, copyChunkInput(key, chunk(0, 0, 1)), 12); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("resume key of a closed file: %v", st)
	}
}

// srvsvc PDUs captured from impacket (internal/dcerpc/testdata): a BIND
// to srvsvc v3.0 with NDR, and NetrShareEnum level 1.
const (
	srvsvcBindHex = "05000b03100000004800000001000000b810b810000000000100000000000100c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000"
	shareEnumHex  = "05000003100000004c000000020000003400000000000f0026cf00000100000000000000010000000000abab0100000001000000012100000000000000000000ffffffffcc13000000000000"
)

func mustDecodeHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNamedPipeSrvsvc: on IPC$ the srvsvc pipe answers a DCE/RPC BIND
// written with WRITE and read with READ, and NetrShareEnum through
// FSCTL_PIPE_TRANSCEIVE lists the shares [MS-SMB2 3.3.5.15.2; MS-SRVS].
func TestNamedPipeSrvsvc(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.mustTreeConnect("IPC$")
	if _, st := tc.openFile("nosuchpipe", wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("unknown pipe: %v", st)
	}
	p, st := tc.openFile("srvsvc", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open srvsvc: %v", st)
	}
	if _, st := tc.read(p, 0, 1024); st != ntstatus.PipeEmpty {
		t.Fatalf("READ of an empty pipe: %v", st)
	}
	if n, st := tc.write(p, 0, mustDecodeHex(t, srvsvcBindHex)); st != ntstatus.Success || n != 72 {
		t.Fatalf("WRITE bind: %v %d", st, n)
	}
	ack, st := tc.read(p, 0, 1024)
	if st != ntstatus.Success || len(ack) < 4 || ack[2] != 12 { // bind_ack
		t.Fatalf("READ bind_ack: %v % x", st, ack)
	}
	ir, st := tc.ioctl(p, wire.FsctlPipeTransceive, mustDecodeHex(t, shareEnumHex), 4096)
	if st != ntstatus.Success || len(ir.Output) < 4 || ir.Output[2] != 2 { // response
		t.Fatalf("NetrShareEnum: %v", st)
	}
	for _, name := range []string{"share", "IPC$"} {
		if !bytes.Contains(ir.Output, wire.EncodeUTF16(name)) {
			t.Errorf("NetrShareEnum does not list %q", name)
		}
	}
	if _, st := tc.ioctl(p, wire.FsctlPipeTransceive, mustDecodeHex(t, shareEnumHex), 20); st != ntstatus.BufferOverflow {
		t.Errorf("transceive with a small buffer: %v", st)
	}
	if _, st := tc.ioctl(wire.AllOnes, wire.FsctlPipeWait, nil, 0); st != ntstatus.Success {
		t.Errorf("pipe wait: %v", st)
	}
	if _, st := tc.ioctl(p, wire.FsctlSetSparse, nil, 0); st != ntstatus.NotSupported {
		t.Errorf("unknown FSCTL on IPC$: %v", st)
	}
	if st := tc.flush(p); st != ntstatus.Success {
		t.Errorf("FLUSH of a pipe: %v", st)
	}
	if _, st := tc.queryInfo(p, wire.InfoFile, 5, 64, 0); st != ntstatus.Success {
		t.Errorf("FileStandardInformation of a pipe: %v", st)
	}
	if st := tc.setInfo(p, wire.InfoFile, 14, make([]byte, 8), 0); st != ntstatus.NotSupported {
		t.Errorf("SET_INFO on a pipe: %v", st)
	}
	if _, st := tc.write(p, 0, []byte("garbage, not a PDU")); st != ntstatus.InvalidParameter {
		t.Errorf("WRITE of garbage: %v", st)
	}
	if st := tc.closeFile(p); st != ntstatus.Success {
		t.Errorf("CLOSE: %v", st)
	}
}
