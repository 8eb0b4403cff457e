// Package client is Signet's SMB2/SMB3 client: dialects 2.0.2 to 3.1.1,
// NTLMv2 inside SPNEGO, message signing (HMAC-SHA256, AES-128-CMAC,
// AES-128-GMAC), and an io/fs view of a share.
//
//	d := &client.Dialer{User: "alice", Password: pw} // requires signing
//	s, err := d.Dial(ctx, "server:445")
//	...
//	defer s.Close()
//	share, err := s.Mount(ctx, "data")
//	...
//	b, err := fs.ReadFile(share, "reports/2024.csv")
//	f, err := share.Create("upload.bin")
//	_, err = io.Copy(f, src) // parallel WRITEs
//
// # Signing
//
// The client policy "Digitally sign communications (always)" is on unless
// Dialer.AllowUnsigned is set. A session is signed
// (Session.Signed) when the client or the server requires signing
// [MS-SMB2 3.2.5.3.1]: every request is signed and every response must
// carry a valid signature, except STATUS_PENDING interim responses and
// unsolicited breaks. Independently of the policy:
//
//   - every response that arrives signed is verified;
//   - on 3.1.1 the final SESSION_SETUP response must be signed with the key
//     derived from the preauth integrity hash, and TREE_CONNECT is always
//     signed;
//   - on every dialect but 3.1.1 the first tree connect is followed by a
//     signed FSCTL_VALIDATE_NEGOTIATE_INFO whose signed answer must match
//     the NEGOTIATE response (on 2.x too, so that removing every 3.x
//     dialect from the NEGOTIATE request is caught; a server without the
//     FSCTL may answer with a signed error instead).
//
// A missing or bad signature fails the request with ErrBadSignature,
// discards the response and closes the connection. When signing is
// required, guest and anonymous logons and servers that do not sign the
// final SESSION_SETUP response are refused with ErrSigningRequired.
//
// # Transport
//
// One goroutine per connection reads responses and hands each to the
// request waiting for its MessageId. Credits are a semaphore over the
// MessageId window; with LARGE_MTU a request moving n bytes charges
// ceil(n/64 KiB) credits. ReadAt, WriteAt, ReadFrom and WriteTo split
// transfers into Dialer.IOSize requests (1 MiB by default, capped by the
// server's MaxRead/WriteSize and 8 MiB) and keep up to Dialer.MaxInFlight
// (8) of them outstanding. Signing and verification run in the goroutines
// that issue the requests.
//
// # Errors
//
// Failed requests return *StatusError, which unwraps to the
// ntstatus.Status and, where one applies, to fs.ErrNotExist,
// fs.ErrPermission, fs.ErrExist, fs.ErrInvalid or fs.ErrClosed. Share
// methods wrap errors in *fs.PathError.
//
// Not implemented: encryption (a server or share that demands it is
// refused with ErrEncryptionRequired), Kerberos, compounding, multichannel,
// durable handles, oplocks and leases, DFS.
package client
