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

// gcmAVX512 is whether the wide AES-GCM (gcm_wide.go) can run here: the
// wide GHASH and 512-bit AES rounds.
var gcmAVX512 = ghashAVX512 && cpu.X86.HasAVX512VAES

// aesCTRAVX512 XORs src, whole blocks, with the AES counter-mode key
// stream under the round keys rk (rounds 10, 12 or 14) from the counter
// block ctr (GCM's 32-bit big-endian increment), into dst, and advances
// ctr past the blocks used.
//
//go:noescape
func aesCTRAVX512(rk *[15 * 16]byte, rounds int, ctr *[16]byte, dst, src []byte)

func aesCTRBlocks(rk *[15 * 16]byte, rounds int, ctr *[16]byte, dst, src []byte) {
	aesCTRAVX512(rk, rounds, ctr, dst, src)
}

// cmacAESNI is whether cbcmacAES128 can run here (AES-NI).
var cmacAESNI = cpu.X86.HasAES

// cbcmacAES128 chains whole 16-byte blocks of data into the CBC-MAC state
// x under the AES-128 round keys rk (expandKey).
//
//go:noescape
func cbcmacAES128(rk *[15 * 16]byte, x *[16]byte, data []byte)

func cbcmacBlocks(rk *[15 * 16]byte, x *[16]byte, data []byte) {
	cbcmacAES128(rk, x, data)
}

// ccmAESNI is whether the one-loop AES-CCM of ccm_amd64.s can run here
// (AES-NI; SSSE3 for the counter's byte shuffle).
var ccmAESNI = cpu.X86.HasAES && cpu.X86.HasSSSE3

// ccmSealAESNI and ccmOpenAESNI run AES-CCM over whole 16-byte blocks of
// src into dst: the CBC-MAC state mac (updated) and the counter-mode key
// stream from the counter block ctr (read only; its last four bytes count,
// big-endian) in one loop. Seal chains the plaintext src, Open the
// plaintext it recovers; Open needs at least one block.
//
//go:noescape
func ccmSealAESNI(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte)

//go:noescape
func ccmOpenAESNI(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte)

func ccmSealBlocks(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte) {
	ccmSealAESNI(rk, rounds, mac, ctr, dst, src)
}

func ccmOpenBlocks(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte) {
	ccmOpenAESNI(rk, rounds, mac, ctr, dst, src)
}
