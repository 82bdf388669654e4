// Q4_0 rows repacked for decode: groups of four blocks laid out so that one 64-byte load and two nibble masks give
// the integer dot's operands in the activation's own order, and one 8-byte load the four scales.
#pragma once

// Decode of Q4_0 weights is bound by its vector work on one core, not by memory: the stored layout (18-byte blocks,
// each a f16 scale and 16 bytes of nibble pairs j, j + 16) needs per block two broadcast loads, an insert, a shift, a
// mask and a scalar gather of the scales. Measured on the AMD EPYC (Zen 4) VM, one thread, rows of 2048 (harness,
// alternating): stored layout 0.78 ns per block from L2 and 18-19 GB/s from memory (read 28-29 GB/s); this layout
// 0.43 ns per block and 30-32 GB/s, the read's rate. The same bytes per row, so a row's offset is unchanged.
//
// The layout of a row of n values (n a multiple of 128, kQ4GroupValues): n / 128 groups of 72 bytes. Group g covers
// blocks 4g .. 4g + 3 of the stored row:
//   bytes 0..7    the four blocks' f16 scales d, in block order (little-endian, as stored);
//   bytes 8..71   64 bytes; byte 8 + i holds, in its low nibble, the quant of element i % 32 of block 4g + i / 32,
//                 and in its high nibble the quant of element i % 32 of block 4g + 2 + i / 32.
// A value is (quant - 8) * d, as in the stored block. The low nibbles of the 64 bytes are thus the quants of the
// group's first 64 values in order, and the high nibbles those of its last 64.

#include "engine/kernels/activationq8.h"

#include <cstddef>
#include <cstdint>

namespace engine {

constexpr size_t kQ4GroupValues = 128; // four blocks of 32
constexpr size_t kQ4GroupBytes = 72; // four 18-byte blocks

// Whether a row of `cols` values can be repacked (whole groups only).
constexpr bool q4GroupsFit(int64_t cols) { return cols > 0 && cols % int64_t(kQ4GroupValues) == 0; }

// Writes the grouped form of one stored Q4_0 row of n values (q4GroupsFit(n)) to out (the row's byte count).
void repackQ4_0Groups(const uint8_t* row, uint8_t* out, size_t n);

// The reference dot of a grouped row with x (scalar; exact integer sums per block, then scaled as dotQ4_0Q8Scalar
// scales), for tests and for levels without a vector kernel.
float dotQ4_0GroupsQ8Scalar(const uint8_t* row, const ActivationQ8& x, size_t n);

} // namespace engine
