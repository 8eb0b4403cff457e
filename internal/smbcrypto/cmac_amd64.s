//go:build amd64 && !purego

#include "textflag.h"

// func cbcmacAES128(rk *[15 * 16]byte, x *[16]byte, data []byte)
//
// CBC-MAC over data, whole 16-byte blocks: x = AES-128(K, x XOR block)
// for each block, with the eleven round keys of rk held in registers.
// CBC-MAC is bound by the latency of the AES rounds; keeping the keys in
// registers and the loop free of calls is what this gains over a
// cipher.Block call per block.
TEXT ·cbcmacAES128(SB), NOSPLIT, $0-40
	MOVQ  rk+0(FP), DI
	MOVQ  x+8(FP), CX
	MOVQ  data_base+16(FP), SI
	MOVQ  data_len+24(FP), DX
	MOVOU (CX), X0
	MOVOU 0(DI), X1
	MOVOU 16(DI), X2
	MOVOU 32(DI), X3
	MOVOU 48(DI), X4
	MOVOU 64(DI), X5
	MOVOU 80(DI), X6
	MOVOU 96(DI), X7
	MOVOU 112(DI), X8
	MOVOU 128(DI), X9
	MOVOU 144(DI), X10
	MOVOU 160(DI), X11

loop:
	CMPQ       DX, $16
	JB         done
	MOVOU      (SI), X12
	PXOR       X12, X0
	PXOR       X1, X0
	AESENC     X2, X0
	AESENC     X3, X0
	AESENC     X4, X0
	AESENC     X5, X0
	AESENC     X6, X0
	AESENC     X7, X0
	AESENC     X8, X0
	AESENC     X9, X0
	AESENC     X10, X0
	AESENCLAST X11, X0
	ADDQ       $16, SI
	SUBQ       $16, DX
	JMP        loop

done:
	MOVOU X0, (CX)
	RET
