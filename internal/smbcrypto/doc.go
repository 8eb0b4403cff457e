// Package smbcrypto implements the cryptography behind SMB2/SMB3 message
// signing: the SP 800-108 key derivation and per-dialect key labels
// [MS-SMB2 3.1.4.2, 3.3.5.5.3], the SMB 3.1.1 preauth integrity hash chain
// [MS-SMB2 3.3.5.4], a streaming AES-128-CMAC (RFC 4493), and [Signer]
// implementations for HMAC-SHA256, AES-128-CMAC and AES-128-GMAC
// [MS-SMB2 3.1.4.1, 3.1.5.1].
//
// # Verifying without mutation
//
// A signature covers the whole message with its 16-byte Signature field
// (bytes 48..63) set to zero. The textbook verifier saves the signature,
// zeroes the field, recomputes and restores it; that writes to a receive
// buffer that other goroutines may be reading (compound elements, the
// preauth hash, logging), and copying the message instead costs a full
// memory pass on 10 Gb links. [Signer.Verify] does neither:
//
//   - HMAC-SHA256 and AES-CMAC are streaming MACs, so the message is fed in
//     three pieces: bytes 0..47, sixteen zero bytes, and bytes 64..end (the
//     approach of Samba's smb2_signing_check_pdu).
//   - AES-GMAC computes its tag in one pass over one contiguous slice (the
//     standard library's GCM takes the additional data so, and the wide
//     GHASH below is used the same way). The tag is computed over the message as it
//     is, signature included, and corrected afterwards: GHASH is linear in
//     its input blocks, and the Signature field is exactly AAD block 4, so
//     the tag of the zeroed message is tag XOR S·H^(n-2), where S is the
//     received signature, n the number of 16-byte AAD blocks and H the GHASH
//     key, multiplied in GCM's bit-reflected GF(2^128) (NIST SP 800-38D
//     section 6.3). The multiply is a constant-time software carry-less
//     multiply, and each signer caches H^0..H^15 for a 4-bit-window
//     exponentiation, so the correction costs one multiplication for
//     messages up to 272 bytes and well under two microseconds for the
//     largest SMB message.
//
// All comparisons are constant-time. Sign writes only into the caller's
// outgoing buffer and never copies it.
//
// # Speed
//
// Where the CPU has AVX-512 with VPCLMULQDQ (and, for GCM, VAES), GMAC
// signing and SMB3 AES-GCM encryption use this package's assembly
// (ghash_amd64.s, aesctr_amd64.s): GHASH with 512-bit carry-less
// multiplies, 32 blocks a round, and AES counter mode sixteen blocks at a
// time. On the AMD EPYC (Zen 5) this was measured on, GMAC runs at about
// 29 GB/s and AES-128-GCM at 18 GB/s per core, about three times the
// standard library's 9.5 and 5.8 (BenchmarkSign, BenchmarkGCM). Elsewhere,
// and with the purego build tag, the standard library's GCM is used.
// AES-CMAC chains runs of whole blocks in an AES-NI loop with the round
// keys in registers (cmac_amd64.s), 1.5 GB/s against 1.1 there. AES-CCM
// runs its CBC-MAC and its counter mode in one AES-NI loop
// (ccm_amd64.s), the key stream beside the MAC's waiting rounds: 1.4 GB/s
// for AES-128 against 0.97 (BenchmarkAEAD); its tests compare it with the
// portable CCM (TestCCMAssembly) and run the RFC 3610 vectors through both.
// The assembly is checked against the standard library at every length up
// to 600 (GCM) and 1,100 (GMAC) bytes, at large sizes and every alignment
// (TestWideGMAC, TestWideGCM), and runs every vector test of the package
// on such a CPU.
//
// # Concurrency and memory
//
// Signers are immutable after construction and safe for concurrent use.
// Per-message scratch (hash states, CMAC chaining state, GCM nonce and tag)
// comes from package-level sync.Pools of key-independent objects that are
// wiped before they are returned, so the steady state allocates nothing and
// an idle signer holds only its key schedule (about 0.25 to 1.4 KiB, see
// TestIdleSignerSize); no signer owns a pool.
package smbcrypto
