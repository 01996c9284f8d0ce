// The AMX definitions shared by the BF16 and int8 tile kernels (included by
// bf16_amd64.s and int8amx_amd64.s; each gets its own copy of the configuration).

// The tile configuration: palette 1, tiles 0–7 each 16 rows of 64 bytes (tmm0–3: C,
// 16×16 float32 or int32; tmm4–5: A, 16 rows of 32 BF16 or 64 uint8; tmm6–7: B, 16
// rows of 16 columns × 2 BF16 or × 4 int8).
DATA amxcfg<>+0(SB)/8, $1
DATA amxcfg<>+8(SB)/8, $0
DATA amxcfg<>+16(SB)/8, $0x0040004000400040
DATA amxcfg<>+24(SB)/8, $0x0040004000400040
DATA amxcfg<>+32(SB)/8, $0
DATA amxcfg<>+40(SB)/8, $0
DATA amxcfg<>+48(SB)/8, $0x1010101010101010
DATA amxcfg<>+56(SB)/8, $0
GLOBL amxcfg<>(SB), RODATA|NOPTR, $64

// The Go assembler has no AMX mnemonics: each instruction is its VEX encoding.
#define LDTILECFG_AX      BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define TILERELEASE       BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0xC0
#define TILEZERO_T0       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
#define TILEZERO_T1       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
#define TILEZERO_T2       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
#define TILEZERO_T3       BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8
// TILELOADD tmm4, (SI)(BX*1) and tmm5, (CX)(BX*1): A rows 0–15 and 16–31.
#define TILELOADD_T4_SI_BX BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x1E
#define TILELOADD_T5_CX_BX BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x19
// TILESTORED (SI)(R13*1), 64(SI)(R13*1), (CX)(R13*1), 64(CX)(R13*1) ← tmm0–3.
#define TILESTORED_SI_T0    BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x2E
#define TILESTORED_SI64_T1  BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x4C; BYTE $0x2E; BYTE $0x40
#define TILESTORED_CX_T2    BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x29
#define TILESTORED_CX64_T3  BYTE $0xC4; BYTE $0xA2; BYTE $0x7A; BYTE $0x4B; BYTE $0x5C; BYTE $0x29; BYTE $0x40


// The kernels' shared steps: load the configuration (DX = 64, B's row stride), zero
// the four C tiles, and store them to C at R12 (row stride R13 bytes), rows 0–15 at
// SI and 16–31 at CX.
#define AMX_CONFIGURE MOVQ $64, DX; LEAQ amxcfg<>(SB), AX; LDTILECFG_AX
#define TILEZERO_C TILEZERO_T0; TILEZERO_T1; TILEZERO_T2; TILEZERO_T3
#define TILESTORED_C MOVQ R12, SI; MOVQ R13, CX; SHLQ $4, CX; ADDQ R12, CX; TILESTORED_SI_T0; TILESTORED_SI64_T1; TILESTORED_CX_T2; TILESTORED_CX64_T3
