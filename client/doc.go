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
// transfers into Dialer.IOSize requests (4 MiB by default; READs capped by
// the server's MaxReadSize, WRITEs by its MaxWriteSize, both by 8 MiB) and
// keep up to Dialer.MaxInFlight (8) of them outstanding per channel.
// Signing and verification run in the goroutines that issue the requests.
//
// # Multichannel
//
// With Dialer.Channels > 1 and a 3.x server offering
// SMB2_GLOBAL_CAP_MULTI_CHANNEL, Dial binds further connections to the
// session [MS-SMB2 3.2.4.2.3]: each NEGOTIATEs with the session's
// ClientGuid, dialect and signing algorithm, then sends SESSION_SETUP with
// SMB2_SESSION_FLAG_BINDING and the SessionId, signed with the session's
// signing key, and re-authenticates the same user. Each channel signs and
// verifies with its own key, derived from the binding's session key (and
// on 3.1.1 from the new connection's preauth hash extended with the
// binding exchange); the final binding response must verify with it. The
// addresses come from FSCTL_QUERY_NETWORK_INTERFACE_INFO
// (Session.NetworkInterfaces), else the dialed address is used again.
//
// READ and WRITE requests go to the live channels in turn, with
// MaxInFlight outstanding per channel; any open is used on any channel.
// Other requests use the first live channel. When a channel's connection
// is lost, the READs and WRITEs in flight on it are sent again on another
// channel (they are repeatable) and the channel is dropped; other requests
// in flight on it fail. The session fails only when its last channel is
// lost; Close sends one LOGOFF and closes every channel. Each lost channel
// raises the ChannelSequence that 3.x requests carry, so that a server
// refuses (STATUS_FILE_NOT_AVAILABLE, before running it) a WRITE from the
// lost connection that would arrive after the reissued one [MS-SMB2
// 3.3.5.2.10]; a request so refused because the sequence moved while it
// was in flight is sent again.
//
// # Errors
//
// Failed requests return *StatusError, which unwraps to the
// ntstatus.Status and, where one applies, to fs.ErrNotExist,
// fs.ErrPermission, fs.ErrExist, fs.ErrInvalid or fs.ErrClosed. Share
// methods wrap errors in *fs.PathError.
//
// # Encryption
//
// SMB 3.x encryption is offered on every connection (encrypt.go). With
// Dialer.RequireEncryption every request after SESSION_SETUP is encrypted
// and a server that negotiates no cipher is refused (ErrNoEncryption);
// without it the client encrypts once the server sets
// SMB2_SESSION_FLAG_ENCRYPT_DATA or a share SMB2_SHAREFLAG_ENCRYPT_DATA.
// Responses to encrypted requests must arrive encrypted; a transform that
// does not authenticate closes the connection.
//
// # Leases, durable handles, reconnect
//
// Against a server offering SMB2_GLOBAL_CAP_LEASING, opens of files ask
// for a lease and a durable handle, lease and oplock breaks are handled
// by one breaker goroutine per session (flush cached writes, purge the
// read cache when R goes, then acknowledge), data read under a
// read-caching lease is served again from a bounded per-file cache
// (readcache.go), and a lost connection of a one-channel session is
// replaced: the durable handles are reclaimed and the READs and WRITEs in
// flight are replayed (lease.go, durable.go; Dialer.NoLeases, NoDurable,
// NoReconnect, DurableTimeout, WriteCache, ReadCache).
//
// Not implemented: compounding, directory leases, DFS; multichannel over
// RDMA; reconnecting a multichannel session (its lost channels' READs and
// WRITEs are reissued on the others as new requests with the raised
// ChannelSequence, without REPLAY_OPERATION); replaying a CREATE lost with its connection.
package client
