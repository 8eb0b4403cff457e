//go:build amd64 && !purego

#include "textflag.h"

// AES in counter mode (GCM's inc32 counter) with 512-bit AES rounds
// (VAES, AVX-512F, AVX-512BW): sixteen blocks per round of the loop, four
// in each ZMM register, then single blocks.

// Lane increments 0..3 (in the low dword of each byte-reversed counter),
// and the step of 4 and of 16.
DATA ctrLanes<>+0(SB)/8, $0
DATA ctrLanes<>+8(SB)/8, $0
DATA ctrLanes<>+16(SB)/8, $1
DATA ctrLanes<>+24(SB)/8, $0
DATA ctrLanes<>+32(SB)/8, $2
DATA ctrLanes<>+40(SB)/8, $0
DATA ctrLanes<>+48(SB)/8, $3
DATA ctrLanes<>+56(SB)/8, $0
GLOBL ctrLanes<>(SB), RODATA|NOPTR, $64

DATA ctrFour<>+0(SB)/8, $4
DATA ctrFour<>+8(SB)/8, $0
GLOBL ctrFour<>(SB), RODATA|NOPTR, $16

DATA ctrOne<>+0(SB)/8, $1
DATA ctrOne<>+8(SB)/8, $0
GLOBL ctrOne<>(SB), RODATA|NOPTR, $16

// func aesCTRAVX512(rk *[15 * 16]byte, rounds int, ctr *[16]byte, dst, src []byte)
//
// dst and src are whole blocks of the same length; dst may be src. ctr is
// the first counter block, advanced past the blocks used on return.
TEXT ·aesCTRAVX512(SB), NOSPLIT, $0-72
	MOVQ rk+0(FP), DI
	MOVQ rounds+8(FP), AX
	MOVQ ctr+16(FP), CX
	MOVQ dst_base+24(FP), R8
	MOVQ src_base+48(FP), SI
	MOVQ src_len+56(FP), DX

	// Round keys: Z16 = rk0 ... Z25 = rk9; Z26..Z29 = rk10..rk13 (only
	// those the key size uses); Z30 = the last round's key.
	VBROADCASTI32X4 0(DI), Z16
	VBROADCASTI32X4 16(DI), Z17
	VBROADCASTI32X4 32(DI), Z18
	VBROADCASTI32X4 48(DI), Z19
	VBROADCASTI32X4 64(DI), Z20
	VBROADCASTI32X4 80(DI), Z21
	VBROADCASTI32X4 96(DI), Z22
	VBROADCASTI32X4 112(DI), Z23
	VBROADCASTI32X4 128(DI), Z24
	VBROADCASTI32X4 144(DI), Z25
	VBROADCASTI32X4 160(DI), Z26
	VBROADCASTI32X4 176(DI), Z27
	VBROADCASTI32X4 192(DI), Z28
	VBROADCASTI32X4 208(DI), Z29
	MOVQ            AX, BX
	SHLQ            $4, BX
	VBROADCASTI32X4 (DI)(BX*1), Z30

	VBROADCASTI32X4 ·bswapMask(SB), Z31
	// Z8: the counter block byte-reversed, in every lane, plus 0..3.
	VBROADCASTI32X4 (CX), Z8
	VPSHUFB         Z31, Z8, Z8
	VMOVDQU64       ctrLanes<>(SB), Z9
	VPADDD          Z9, Z8, Z8
	VBROADCASTI32X4 ctrFour<>(SB), Z9 // +4 a register

loop16:
	CMPQ DX, $256
	JB   singles

	VPADDD  Z9, Z8, Z10
	VPADDD  Z9, Z10, Z11
	VPADDD  Z9, Z11, Z12
	VPSHUFB Z31, Z8, Z0
	VPSHUFB Z31, Z10, Z1
	VPSHUFB Z31, Z11, Z2
	VPSHUFB Z31, Z12, Z3
	VPADDD  Z9, Z12, Z8
	VPXORQ  Z16, Z0, Z0
	VPXORQ  Z16, Z1, Z1
	VPXORQ  Z16, Z2, Z2
	VPXORQ  Z16, Z3, Z3
	CALL    ·aesRounds4(SB)
	VPXORQ  0(SI), Z0, Z0
	VPXORQ  64(SI), Z1, Z1
	VPXORQ  128(SI), Z2, Z2
	VPXORQ  192(SI), Z3, Z3
	VMOVDQU64 Z0, 0(R8)
	VMOVDQU64 Z1, 64(R8)
	VMOVDQU64 Z2, 128(R8)
	VMOVDQU64 Z3, 192(R8)
	ADDQ    $256, SI
	ADDQ    $256, R8
	SUBQ    $256, DX
	JMP     loop16

singles:
	// Lane 0 of Z8 is the next counter; one block at a time.
	VBROADCASTI32X4 ctrOne<>(SB), Z9

singlesLoop:
	CMPQ    DX, $16
	JB      done
	VPSHUFB Z31, Z8, Z0
	VPADDD  Z9, Z8, Z8
	VPXORQ  Z16, Z0, Z0
	CALL    ·aesRounds4(SB)
	VMOVDQU (SI), X1
	VPXOR   X1, X0, X0
	VMOVDQU X0, (R8)
	ADDQ    $16, SI
	ADDQ    $16, R8
	SUBQ    $16, DX
	JMP     singlesLoop

done:
	// The next counter, back in block order.
	VPSHUFB Z31, Z8, Z0
	VMOVDQU X0, (CX)
	VZEROUPPER
	RET

// aesRounds4 finishes the AES rounds of Z0..Z3 (round 0 done) with the
// keys of aesCTRAVX512; AX is the number of rounds.
TEXT ·aesRounds4(SB), NOSPLIT|NOFRAME, $0-0
	VAESENC Z17, Z0, Z0
	VAESENC Z17, Z1, Z1
	VAESENC Z17, Z2, Z2
	VAESENC Z17, Z3, Z3
	VAESENC Z18, Z0, Z0
	VAESENC Z18, Z1, Z1
	VAESENC Z18, Z2, Z2
	VAESENC Z18, Z3, Z3
	VAESENC Z19, Z0, Z0
	VAESENC Z19, Z1, Z1
	VAESENC Z19, Z2, Z2
	VAESENC Z19, Z3, Z3
	VAESENC Z20, Z0, Z0
	VAESENC Z20, Z1, Z1
	VAESENC Z20, Z2, Z2
	VAESENC Z20, Z3, Z3
	VAESENC Z21, Z0, Z0
	VAESENC Z21, Z1, Z1
	VAESENC Z21, Z2, Z2
	VAESENC Z21, Z3, Z3
	VAESENC Z22, Z0, Z0
	VAESENC Z22, Z1, Z1
	VAESENC Z22, Z2, Z2
	VAESENC Z22, Z3, Z3
	VAESENC Z23, Z0, Z0
	VAESENC Z23, Z1, Z1
	VAESENC Z23, Z2, Z2
	VAESENC Z23, Z3, Z3
	VAESENC Z24, Z0, Z0
	VAESENC Z24, Z1, Z1
	VAESENC Z24, Z2, Z2
	VAESENC Z24, Z3, Z3
	VAESENC Z25, Z0, Z0
	VAESENC Z25, Z1, Z1
	VAESENC Z25, Z2, Z2
	VAESENC Z25, Z3, Z3
	CMPQ    AX, $10
	JEQ     last
	VAESENC Z26, Z0, Z0
	VAESENC Z26, Z1, Z1
	VAESENC Z26, Z2, Z2
	VAESENC Z26, Z3, Z3
	VAESENC Z27, Z0, Z0
	VAESENC Z27, Z1, Z1
	VAESENC Z27, Z2, Z2
	VAESENC Z27, Z3, Z3
	CMPQ    AX, $12
	JEQ     last
	VAESENC Z28, Z0, Z0
	VAESENC Z28, Z1, Z1
	VAESENC Z28, Z2, Z2
	VAESENC Z28, Z3, Z3
	VAESENC Z29, Z0, Z0
	VAESENC Z29, Z1, Z1
	VAESENC Z29, Z2, Z2
	VAESENC Z29, Z3, Z3

last:
	VAESENCLAST Z30, Z0, Z0
	VAESENCLAST Z30, Z1, Z1
	VAESENCLAST Z30, Z2, Z2
	VAESENCLAST Z30, Z3, Z3
	RET
