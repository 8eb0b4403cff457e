//go:build amd64 && !purego

#include "textflag.h"

// GHASH over whole 16-byte blocks with 512-bit carry-less multiplies
// (AVX-512F, AVX-512BW, VPCLMULQDQ): 32 blocks per round, then at most
// one round of 16, then single blocks.
//
// Representation (as in Intel's carry-less multiplication white paper
// and the standard library's gcm_amd64.s): a block is byte-reversed into
// a register, so that as a 128-bit integer it equals the package's
// fieldElement (hi:lo). The key powers in the table are pre-multiplied
// by x^-1 (ghashTable), which cancels the one-bit offset of multiplying
// bit-reflected values; the 256-bit product is reduced modulo
// x^128 + x^7 + x^2 + x + 1 with two multiplies by the constant
// 0xC2000000000000000000000000000001.
//
// A round of n blocks computes Y = (Y + X1)·H^n + X2·H^(n-1) + ... +
// Xn·H: the four 128-bit lanes of each ZMM register are multiplied lane
// by lane (the low, high and two middle products, schoolbook), summed
// unreduced, the lanes folded together, and reduced once per round.

// bswapMask reverses the bytes of a 128-bit lane (VPSHUFB); aesctr_amd64.s
// uses it too.
DATA ·bswapMask+0(SB)/8, $0x08090a0b0c0d0e0f
DATA ·bswapMask+8(SB)/8, $0x0001020304050607
GLOBL ·bswapMask(SB), RODATA|NOPTR, $16

DATA ghashPoly<>+0(SB)/8, $0x0000000000000001
DATA ghashPoly<>+8(SB)/8, $0xc200000000000000
GLOBL ghashPoly<>(SB), RODATA|NOPTR, $16

// MULACC adds the lane-wise products of data register d and key
// register k to the low (Z4), high (Z9) and middle (Z10) sums.
#define MULACC(d, k) \
	VPCLMULQDQ $0x00, k, d, Z24 \
	VPCLMULQDQ $0x11, k, d, Z25 \
	VPCLMULQDQ $0x01, k, d, Z26 \
	VPCLMULQDQ $0x10, k, d, Z27 \
	VPXORQ     Z24, Z4, Z4      \
	VPXORQ     Z25, Z9, Z9      \
	VPTERNLOGQ $0x96, Z27, Z26, Z10

// FOLD xors the four 128-bit lanes of z (whose low YMM and XMM views
// are y and x) into x; uses Y5 and X5.
#define FOLD(z, y, x) \
	VEXTRACTI64X4 $1, z, Y5 \
	VPXOR         Y5, y, y  \
	VEXTRACTI128  $1, y, X5 \
	VPXOR         X5, x, x

// REDUCE combines the low (X4), high (X9) and middle (X10) sums into the
// new Y in X8 (a VEX move, so Z8's upper lanes are zero); uses X11 and
// the polynomial constant in X14.
#define REDUCE \
	VPSLLDQ    $8, X10, X11     \
	VPSRLDQ    $8, X10, X10     \
	VPXOR      X11, X4, X4      \
	VPXOR      X10, X9, X9      \
	VPCLMULQDQ $0x01, X4, X14, X11 \
	VPSHUFD    $0x4e, X4, X4    \
	VPXOR      X11, X4, X4      \
	VPCLMULQDQ $0x01, X4, X14, X11 \
	VPSHUFD    $0x4e, X4, X4    \
	VPXOR      X11, X4, X4      \
	VPXOR      X9, X4, X8

// func ghashBlocksAVX512(table *[ghashTableSize]byte, y *[16]byte, data []byte)
TEXT ·ghashBlocksAVX512(SB), NOSPLIT, $0-40
	MOVQ table+0(FP), DI
	MOVQ y+8(FP), CX
	MOVQ data_base+16(FP), SI
	MOVQ data_len+24(FP), DX

	VMOVDQU         (CX), X8
	VBROADCASTI32X4 ·bswapMask(SB), Z31
	VMOVDQU         ghashPoly<>(SB), X14
	VMOVDQU64       256(DI), Z20 // H^16 H^15 H^14 H^13
	VMOVDQU64       320(DI), Z21 // H^12 .. H^9
	VMOVDQU64       384(DI), Z22 // H^8 .. H^5
	VMOVDQU64       448(DI), Z23 // H^4 .. H^1
	CMPQ            DX, $512
	JB              loop16
	VMOVDQU64       0(DI), Z16   // H^32 .. H^29
	VMOVDQU64       64(DI), Z17
	VMOVDQU64       128(DI), Z18
	VMOVDQU64       192(DI), Z19 // H^20 .. H^17

loop32:
	CMPQ DX, $512
	JB   loop16

	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VMOVDQU64 256(SI), Z6
	VMOVDQU64 320(SI), Z7
	VMOVDQU64 384(SI), Z12
	VMOVDQU64 448(SI), Z13
	VPSHUFB   Z31, Z0, Z0
	VPSHUFB   Z31, Z1, Z1
	VPSHUFB   Z31, Z2, Z2
	VPSHUFB   Z31, Z3, Z3
	VPSHUFB   Z31, Z6, Z6
	VPSHUFB   Z31, Z7, Z7
	VPSHUFB   Z31, Z12, Z12
	VPSHUFB   Z31, Z13, Z13
	VPXORQ    Z8, Z0, Z0 // Y into the first block; Z8's upper lanes are zero
	VPXORQ    Z4, Z4, Z4
	VPXORQ    Z9, Z9, Z9
	VPXORQ    Z10, Z10, Z10
	MULACC(Z0, Z16)
	MULACC(Z1, Z17)
	MULACC(Z2, Z18)
	MULACC(Z3, Z19)
	MULACC(Z6, Z20)
	MULACC(Z7, Z21)
	MULACC(Z12, Z22)
	MULACC(Z13, Z23)
	FOLD(Z4, Y4, X4)
	FOLD(Z9, Y9, X9)
	FOLD(Z10, Y10, X10)
	REDUCE

	ADDQ $512, SI
	SUBQ $512, DX
	JMP  loop32

loop16:
	CMPQ DX, $256
	JB   singles

	VMOVDQU64 0(SI), Z0
	VMOVDQU64 64(SI), Z1
	VMOVDQU64 128(SI), Z2
	VMOVDQU64 192(SI), Z3
	VPSHUFB   Z31, Z0, Z0
	VPSHUFB   Z31, Z1, Z1
	VPSHUFB   Z31, Z2, Z2
	VPSHUFB   Z31, Z3, Z3
	VPXORQ    Z8, Z0, Z0
	VPXORQ    Z4, Z4, Z4
	VPXORQ    Z9, Z9, Z9
	VPXORQ    Z10, Z10, Z10
	MULACC(Z0, Z20)
	MULACC(Z1, Z21)
	MULACC(Z2, Z22)
	MULACC(Z3, Z23)
	FOLD(Z4, Y4, X4)
	FOLD(Z9, Y9, X9)
	FOLD(Z10, Y10, X10)
	REDUCE

	ADDQ $256, SI
	SUBQ $256, DX
	JMP  loop16

singles:
	VMOVDQU 496(DI), X13 // H^1
	VMOVDQU ·bswapMask(SB), X12

singlesLoop:
	CMPQ DX, $16
	JB   done
	VMOVDQU    (SI), X0
	VPSHUFB    X12, X0, X0
	VPXOR      X8, X0, X0
	VPCLMULQDQ $0x00, X13, X0, X4
	VPCLMULQDQ $0x11, X13, X0, X9
	VPCLMULQDQ $0x01, X13, X0, X10
	VPCLMULQDQ $0x10, X13, X0, X11
	VPXOR      X11, X10, X10
	REDUCE
	ADDQ       $16, SI
	SUBQ       $16, DX
	JMP        singlesLoop

done:
	VMOVDQU X8, (CX)
	VZEROUPPER
	RET
