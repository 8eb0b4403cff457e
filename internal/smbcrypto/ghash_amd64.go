//go:build amd64 && !purego

package smbcrypto

import "golang.org/x/sys/cpu"

// ghashAVX512 is whether ghashBlocksAVX512 can run here: 512-bit
// registers saved by the operating system (which cpu.X86.HasAVX512F
// includes), byte shuffles on them (BW) and the wide carry-less multiply.
var ghashAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VPCLMULQDQ && cpu.X86.HasPCLMULQDQ && cpu.X86.HasAVX2

// ghashBlocksAVX512 folds data, a whole number of 16-byte blocks, into
// the GHASH state y (held byte-reversed, see ghash_amd64.s) with the key
// powers of table.
//
//go:noescape
func ghashBlocksAVX512(table *[ghashTableSize]byte, y *[16]byte, data []byte)

func ghashBlocks(table *[ghashTableSize]byte, y *[16]byte, data []byte) {
	ghashBlocksAVX512(table, y, data)
}
