#include "textflag.h"

// func dotAVX2(a, b *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JL   loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JL   reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

tail:
	CMPQ CX, $0
	JE   done
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotRowsAVX2(q, base *float32, rows *uint32, n, dim int, out *float32)
//
// For each i < n, out[i] = dot(q, base[rows[i]*dim : (rows[i]+1)*dim]). dim
// is a positive multiple of 32. While it scores row i it prefetches row
// i+rowsAhead, so that the scattered rows of a filter or a graph walk arrive
// from memory while earlier ones are scored.
TEXT ·dotRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ base+8(FP), R9
	MOVQ rows+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ dim+32(FP), R12
	MOVQ out+40(FP), R13
	MOVQ R12, R14
	SHLQ $2, R14
	XORQ BX, BX

rowloop:
	CMPQ BX, R11
	JGE  rowsdone
	MOVL (R10)(BX*4), AX
	IMULQ R14, AX
	LEAQ (R9)(AX*1), SI
	MOVQ BX, CX
	ADDQ $4, CX
	CMPQ CX, R11
	JGE  nopf
	MOVL (R10)(CX*4), DX
	IMULQ R14, DX
	ADDQ R9, DX
	JMP  pfready

nopf:
	MOVQ SI, DX

pfready:
	MOVQ R8, DI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

inner:
	PREFETCHT0 (DX)
	PREFETCHT0 64(DX)
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $128, DX
	SUBQ $32, CX
	JNZ  inner

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (R13)(BX*4)
	INCQ BX
	JMP  rowloop

rowsdone:
	VZEROUPPER
	RET

// func dotRowsI8AVX2(q *float32, codes *int8, rows *uint32, n, dim int, out *float32)
//
// For each i < n, out[i] is the inner product of q with the int8 codes of
// row rows[i] (codes[rows[i]*dim : (rows[i]+1)*dim]), unscaled. dim is a
// positive multiple of 32. Like dotRowsAVX2 it prefetches rows ahead.
TEXT ·dotRowsI8AVX2(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), R8
	MOVQ codes+8(FP), R9
	MOVQ rows+16(FP), R10
	MOVQ n+24(FP), R11
	MOVQ dim+32(FP), R12
	MOVQ out+40(FP), R13
	XORQ BX, BX

i8rowloop:
	CMPQ BX, R11
	JGE  i8done
	MOVL (R10)(BX*4), AX
	IMULQ R12, AX
	LEAQ (R9)(AX*1), SI
	MOVQ BX, CX
	ADDQ $8, CX
	CMPQ CX, R11
	JGE  i8nopf
	MOVL (R10)(CX*4), DX
	IMULQ R12, DX
	ADDQ R9, DX
	JMP  i8pfready

i8nopf:
	MOVQ SI, DX

i8pfready:
	MOVQ R8, DI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

i8inner:
	PREFETCHT0 (DX)
	VPMOVSXBD (SI), Y4
	VPMOVSXBD 8(SI), Y5
	VPMOVSXBD 16(SI), Y6
	VPMOVSXBD 24(SI), Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $32, SI
	ADDQ $128, DI
	ADDQ $32, DX
	SUBQ $32, CX
	JNZ  i8inner

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, (R13)(BX*4)
	INCQ BX
	JMP  i8rowloop

i8done:
	VZEROUPPER
	RET

// func prefetchL0(base *uint32, offs *uint32, n int)
//
// Prefetches the three cache lines (48 links) at base[offs[i]] for each
// i < n. A prefetch never faults, so offsets near the end are safe.
TEXT ·prefetchL0(SB), NOSPLIT, $0-24
	MOVQ base+0(FP), SI
	MOVQ offs+8(FP), DI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ   pfdone

pfloop:
	MOVL (DI), AX
	LEAQ (SI)(AX*4), DX
	PREFETCHT0 (DX)
	PREFETCHT0 64(DX)
	PREFETCHT0 128(DX)
	ADDQ $4, DI
	DECQ CX
	JNZ  pfloop

pfdone:
	RET
