// Package dcerpc implements the server side of the DCE/RPC named pipes an
// SMB server exposes on IPC$ so that share browsing works: \PIPE\srvsvc
// (MS-SRVS) and \PIPE\wkssvc (MS-WKST).
//
// The SMB layer creates one [Pipe] per open of a pipe name with [NewPipe] and
// forwards the pipe I/O to it:
//
//	SMB2 WRITE                   -> Pipe.Write
//	SMB2 READ                    -> Pipe.ReadMessage (or Pipe.Read)
//	IOCTL FSCTL_PIPE_TRANSCEIVE  -> Pipe.Transact
//	IOCTL FSCTL_PIPE_PEEK        -> Pipe.Pending, Pipe.MessageRemaining
//
// The pipe is message oriented, like a Windows message-mode named pipe: every
// response PDU is one message, and a read never returns bytes of two PDUs.
// A read with a buffer smaller than the current message returns the head of
// the message and keeps the rest; the SMB layer then answers
// STATUS_BUFFER_OVERFLOW and the client reads the remainder.
//
// Supported: connection-oriented DCE/RPC v5.0 (MS-RPCE) bind, alter_context,
// request (with multi-fragment reassembly), response (fragmented to the
// negotiated max_xmit_frag), fault, bind_nak; the NDR20 transfer syntax
// (NDR64 proposals are rejected per context); bind time feature negotiation
// (answered with negotiate_ack). Authenticated binds (auth_length > 0) are
// refused with bind_nak reason authentication_type_not_recognized: the
// caller was already authenticated by the SMB session, as Windows and Samba
// clients assume for these two interfaces.
//
// Limits against hostile clients: a request stub is at most 64 KiB after
// reassembly, a pipe keeps at most 32 presentation contexts, Write refuses
// a request (ErrPipeBusy) whose response would take the unread responses
// past the cap given to NewPipe, and one NetrShareEnum answer is at most
// about 1 MiB (the rest is paged with ERROR_MORE_DATA and a resume
// handle). Every count, length and offset from
// the wire is checked before it is used to slice or allocate.
//
// Operations:
//
//	srvsvc  15 NetrShareEnum     levels 0, 1, 2, 501, 502
//	srvsvc  16 NetrShareGetInfo  levels 0, 1, 2, 501, 502, 1005
//	srvsvc  21 NetrServerGetInfo levels 100, 101
//	wkssvc   0 NetrWkstaGetInfo  levels 100, 101, 102
//
// Other levels get ERROR_INVALID_LEVEL in the stub; other opnums get a
// nca_s_op_rng_error fault.
package dcerpc
