// A keyed pseudo-random permutation of [0, n), evaluated at any point on its own: a 4-round
// balanced Feistel network on 2h bits (the fewest with 2^2h >= n, so 2^2h < 4n), walked until the
// image falls in [0, n) (cycle walking, Black & Rogaway 2002: a permutation of [0, n) again,
// about 2 steps on average, at most 4 expected). Round keys are the 4 words of one Philox block
// of the stream, so the permutation depends on (seed, key, block id) only: any shard of a
// parameter can ask where its elements go without the rest (sparse's zero pattern per column).
#pragma once

#include <array>
#include <cstdint>

#include "torchinit/random.h"

namespace torchinit::detail {

class Permutation {
 public:
  Permutation(int64_t n, const Stream& s, uint64_t id, uint16_t substream)
      : n_(n), keys_(s.block(id, substream)) {
    while ((int64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
    mask_ = half_bits_ == 32 ? ~uint32_t{0} : (uint32_t{1} << half_bits_) - 1;
  }

  // The image of x in [0, n).
  int64_t operator()(int64_t x) const {
    uint64_t y = static_cast<uint64_t>(x);
    do {
      y = encrypt(y);
    } while (y >= static_cast<uint64_t>(n_));
    return static_cast<int64_t>(y);
  }

 private:
  // 32-bit mix with good avalanche (Wellons' "lowbias32" finalizer).
  static uint32_t mix(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
  }
  uint64_t encrypt(uint64_t y) const {
    uint32_t left = static_cast<uint32_t>(y >> half_bits_) & mask_;
    uint32_t right = static_cast<uint32_t>(y) & mask_;
    for (const uint32_t k : keys_) {
      const uint32_t next = (left ^ mix(right ^ k)) & mask_;
      left = right;
      right = next;
    }
    return (static_cast<uint64_t>(left) << half_bits_) | right;
  }

  int64_t n_;
  std::array<uint32_t, 4> keys_;
  int half_bits_ = 0;
  uint32_t mask_ = 0;
};

}  // namespace torchinit::detail
