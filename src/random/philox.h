// Philox4x32-10 on one block, and the stream -> (counter, key) layout of random.h, for the fill
// kernels. Integer-only, so every ISA path gives the same words by construction;
// test/random/isa_test.cpp compares the kernels' words with Stream::block (Random123, whose known
// answers are pinned).
#pragma once

#include <cstdint>

namespace torchinit::detail::philox {

constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // Weyl key increments
constexpr int kRounds = 10;

// Counter word 1: high 16 bits of the 48-bit block index, then the substream id.
inline uint32_t counter_word1(uint64_t block, uint16_t substream) {
  return static_cast<uint32_t>((block >> 32) & 0xffffu) | (static_cast<uint32_t>(substream) << 16);
}

// out[0..4) = Philox4x32-10 of counter (block, substream, key_hash) under key seed.
inline void block(uint32_t* out, uint64_t block, uint16_t substream, uint64_t seed,
                  uint64_t key_hash) {
  uint32_t x0 = static_cast<uint32_t>(block), x1 = counter_word1(block, substream);
  uint32_t x2 = static_cast<uint32_t>(key_hash), x3 = static_cast<uint32_t>(key_hash >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t p0 = uint64_t{kM0} * x0, p1 = uint64_t{kM1} * x2;
    const uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
    const uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x1 = static_cast<uint32_t>(p1);
    x3 = static_cast<uint32_t>(p0);
    x0 = y0;
    x2 = y2;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

}  // namespace torchinit::detail::philox
