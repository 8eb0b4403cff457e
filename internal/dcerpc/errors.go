package dcerpc

// Error is the type of the sentinel errors of this package. It is a string
// type so that the sentinels can be constants.
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrNoData is returned by Read, ReadMessage and Transact when no
	// response bytes are pending. It plays the role io.EOF plays for a
	// stream, except that more data can follow after the next Write.
	ErrNoData Error = "dcerpc: no response data pending"

	// ErrUnknownPipe is returned by NewPipe for a pipe name this package
	// does not serve; the SMB layer answers STATUS_OBJECT_NAME_NOT_FOUND.
	ErrUnknownPipe Error = "dcerpc: unknown pipe name"

	// ErrProtocol wraps byte-stream level violations (bad version, bad
	// data representation, impossible frag_length) after which the stream
	// cannot be resynchronised. The pipe is broken afterwards.
	ErrProtocol Error = "dcerpc: protocol error"

	// ErrPipeBroken is returned by Write and Transact after a fatal
	// protocol error. Responses queued before (for example the fault or
	// bind_nak that reported the error) can still be read. The SMB layer
	// can answer STATUS_PIPE_BROKEN or STATUS_PIPE_DISCONNECTED.
	ErrPipeBroken Error = "dcerpc: pipe broken by an earlier protocol error"

	// ErrPipeBusy is returned by Write when a response would take the
	// bytes waiting to be read past the pipe's cap, and by Transact when
	// any are waiting (a transceive needs an empty read side, as with
	// Windows named pipes). The SMB layer can answer STATUS_PIPE_BUSY.
	ErrPipeBusy Error = "dcerpc: unread response data pending"
)
