//go:build amd64 && !purego

#include "textflag.h"

// AES-CCM's two passes over the payload in one loop (AES-NI, SSSE3): the
// CBC-MAC chain and the counter-mode key stream are independent chains of
// AES rounds, so the key stream costs almost nothing beside the CBC-MAC,
// which is bound by the latency of the rounds. Round keys are memory
// operands (rk, expandKey's layout); X0 is the CBC-MAC state, X1 the key
// stream block, X2 the counter byte-reversed (the low dword counts, as
// CCM's counter field does for SMB's 11-byte nonce), X4 the byte-reversal
// mask, X5 one, X6 round key 0, R9 the offset of the last round key.

DATA ccmOne<>+0(SB)/8, $1
DATA ccmOne<>+8(SB)/8, $0
GLOBL ccmOne<>(SB), RODATA|NOPTR, $16

#define CCM_SETUP \
	MOVQ   rk+0(FP), DI; \
	MOVQ   rounds+8(FP), AX; \
	MOVQ   mac+16(FP), BX; \
	MOVQ   ctr+24(FP), CX; \
	MOVQ   dst_base+32(FP), R8; \
	MOVQ   src_base+56(FP), SI; \
	MOVQ   src_len+64(FP), DX; \
	MOVQ   AX, R9; \
	SHLQ   $4, R9; \
	MOVOU  (BX), X0; \
	MOVOU  ·bswapMask(SB), X4; \
	MOVOU  ccmOne<>(SB), X5; \
	MOVOU  (CX), X2; \
	PSHUFB X4, X2; \
	MOVOU  0(DI), X6

// NEXT_KEYSTREAM_INPUT sets X1 to the next counter block XOR round key 0
// and steps the counter.
#define NEXT_KEYSTREAM_INPUT \
	MOVOU  X2, X1; \
	PSHUFB X4, X1; \
	PADDD  X5, X2; \
	PXOR   X6, X1

// func ccmSealAESNI(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte)
//
// For each whole block m of src: mac = AES(mac XOR m), dst = m XOR
// AES(counter), counter + 1. dst may be src. ctr is not written.
TEXT ·ccmSealAESNI(SB), NOSPLIT, $0-80
	CCM_SETUP

sealLoop:
	CMPQ  DX, $16
	JB    sealDone
	MOVOU (SI), X3
	PXOR  X3, X0
	PXOR  X6, X0
	NEXT_KEYSTREAM_INPUT
	CALL  ·ccmRounds2(SB)
	PXOR  X3, X1
	MOVOU X1, (R8)
	ADDQ  $16, SI
	ADDQ  $16, R8
	SUBQ  $16, DX
	JMP   sealLoop

sealDone:
	MOVOU X0, (BX)
	RET

// func ccmOpenAESNI(rk *[15 * 16]byte, rounds int, mac, ctr *[16]byte, dst, src []byte)
//
// For each whole block c of src: m = c XOR AES(counter), dst = m, mac =
// AES(mac XOR m), counter + 1. The key stream of the next block is made
// beside the CBC-MAC of this one. src must hold at least one block; dst
// may be src. ctr is not written.
TEXT ·ccmOpenAESNI(SB), NOSPLIT, $0-80
	CCM_SETUP

	// The first block's key stream; X0 is kept aside meanwhile.
	MOVOU X0, X7
	NEXT_KEYSTREAM_INPUT
	CALL  ·ccmRounds2(SB)
	MOVOU X7, X0

openLoop:
	CMPQ  DX, $16
	JB    openDone
	MOVOU (SI), X3
	PXOR  X1, X3
	MOVOU X3, (R8)
	PXOR  X3, X0
	PXOR  X6, X0
	NEXT_KEYSTREAM_INPUT
	CALL  ·ccmRounds2(SB)
	ADDQ  $16, SI
	ADDQ  $16, R8
	SUBQ  $16, DX
	JMP   openLoop

openDone:
	MOVOU X0, (BX)
	RET

// ccmRounds2 finishes AES rounds 1..AX of X0 and X1 (round 0 done) with
// the round keys at DI; R9 is 16*AX.
TEXT ·ccmRounds2(SB), NOSPLIT|NOFRAME, $0-0
	AESENC 16(DI), X0
	AESENC 16(DI), X1
	AESENC 32(DI), X0
	AESENC 32(DI), X1
	AESENC 48(DI), X0
	AESENC 48(DI), X1
	AESENC 64(DI), X0
	AESENC 64(DI), X1
	AESENC 80(DI), X0
	AESENC 80(DI), X1
	AESENC 96(DI), X0
	AESENC 96(DI), X1
	AESENC 112(DI), X0
	AESENC 112(DI), X1
	AESENC 128(DI), X0
	AESENC 128(DI), X1
	AESENC 144(DI), X0
	AESENC 144(DI), X1
	CMPQ   AX, $10
	JEQ    last
	AESENC 160(DI), X0
	AESENC 160(DI), X1
	AESENC 176(DI), X0
	AESENC 176(DI), X1
	CMPQ   AX, $12
	JEQ    last
	AESENC 192(DI), X0
	AESENC 192(DI), X1
	AESENC 208(DI), X0
	AESENC 208(DI), X1

last:
	AESENCLAST (DI)(R9*1), X0
	AESENCLAST (DI)(R9*1), X1
	RET
