package smbcrypto

import (
	"crypto/sha512"
	"hash"
	"sync"
)

// PreauthHash is an SMB 3.1.1 preauth integrity hash value
// (Connection.PreauthIntegrityHashValue or Session.PreauthIntegrityHashValue,
// [MS-SMB2 3.3.5.4, 3.3.5.5]). The zero value is the initial value H0.
type PreauthHash [PreauthHashSize]byte

// preauthState is a pooled SHA-512 hasher with its output buffer. Pooled
// state is key-independent scratch, reset before it is put back.
type preauthState struct {
	h    hash.Hash
	buf  [PreauthHashSize]byte
	prev [PreauthHashSize]byte
}

var preauthPool = sync.Pool{New: func() any { return &preauthState{h: sha512.New()} }}

// Update returns SHA-512(h || msg), the next value in the chain. msg is one
// complete SMB2 message as sent or received: from the ProtocolId to its end,
// without the transport header, signature field as on the wire. msg is
// streamed into the hash, not copied, and Update allocates nothing.
func (h PreauthHash) Update(msg []byte) PreauthHash {
	s := preauthPool.Get().(*preauthState)
	s.prev = h
	s.h.Write(s.prev[:])
	s.h.Write(msg)
	s.h.Sum(s.buf[:0])
	next := PreauthHash(s.buf)
	s.h.Reset()
	s.prev, s.buf = [PreauthHashSize]byte{}, [PreauthHashSize]byte{}
	preauthPool.Put(s)
	return next
}
