// AVX-512 kernel table: Philox4x32-10 on 16 counters per instruction (F, BW, DQ, VL).
// Built with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -ffp-contract=off; only
// called when the CPU has them.
#include <immintrin.h>

#include <cstdint>

#include "random/philox.h"
#include "torchinit/random.h"

namespace torchinit::detail {
namespace {

// (hi, lo) 32-bit halves of the 16 products a * m.
inline void mulhilo(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

inline __m512i xor3(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi32(a, b, c, 0x96);
}

void generate_blocks(uint32_t* out, uint64_t first_block, int64_t n, const Stream& s,
                     uint16_t substream) {
  int64_t i = 0;
  // Counter word 1 is the same for the whole call unless the low 32 bits of the block wrap.
  if ((first_block & 0xffffffffu) + static_cast<uint64_t>(n) <= (uint64_t{1} << 32)) {
    __m512i k0[philox::kRounds], k1[philox::kRounds];
    uint32_t key0 = static_cast<uint32_t>(s.seed()), key1 = static_cast<uint32_t>(s.seed() >> 32);
    for (int r = 0; r < philox::kRounds; ++r, key0 += philox::kW0, key1 += philox::kW1) {
      k0[r] = _mm512_set1_epi32(static_cast<int>(key0));
      k1[r] = _mm512_set1_epi32(static_cast<int>(key1));
    }
    const __m512i m0 = _mm512_set1_epi32(static_cast<int>(philox::kM0));
    const __m512i m1 = _mm512_set1_epi32(static_cast<int>(philox::kM1));
    const __m512i c1 =
        _mm512_set1_epi32(static_cast<int>(philox::counter_word1(first_block, substream)));
    const __m512i c2 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(s.key_hash())));
    const __m512i c3 =
        _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(s.key_hash() >> 32)));
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
      __m512i x0 = _mm512_add_epi32(
          _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first_block + i))), lanes);
      __m512i x1 = c1, x2 = c2, x3 = c3;
      for (int r = 0; r < philox::kRounds; ++r) {
        __m512i hi0, lo0, hi1, lo1;
        mulhilo(x0, m0, hi0, lo0);
        mulhilo(x2, m1, hi1, lo1);
        x0 = xor3(hi1, x1, k0[r]);
        x1 = lo1;
        x2 = xor3(hi0, x3, k1[r]);
        x3 = lo0;
      }
      // Transpose 4 words x 16 blocks into block order: within 128-bit lanes first (b04.. hold
      // blocks {0,4,8,12}, ...), then the 128-bit lanes themselves.
      const __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
      const __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
      const __m512i b0 = _mm512_unpacklo_epi64(t0, t2), b1 = _mm512_unpackhi_epi64(t0, t2);
      const __m512i b2 = _mm512_unpacklo_epi64(t1, t3), b3 = _mm512_unpackhi_epi64(t1, t3);
      const __m512i v0 = _mm512_shuffle_i32x4(b0, b1, 0x44);  // blocks 0 4 1 5
      const __m512i v1 = _mm512_shuffle_i32x4(b2, b3, 0x44);  // 2 6 3 7
      const __m512i v2 = _mm512_shuffle_i32x4(b0, b1, 0xEE);  // 8 12 9 13
      const __m512i v3 = _mm512_shuffle_i32x4(b2, b3, 0xEE);  // 10 14 11 15
      uint32_t* dst = out + 4 * i;
      _mm512_storeu_si512(dst + 0, _mm512_shuffle_i32x4(v0, v1, 0x88));
      _mm512_storeu_si512(dst + 16, _mm512_shuffle_i32x4(v0, v1, 0xDD));
      _mm512_storeu_si512(dst + 32, _mm512_shuffle_i32x4(v2, v3, 0x88));
      _mm512_storeu_si512(dst + 48, _mm512_shuffle_i32x4(v2, v3, 0xDD));
    }
  }
  for (; i < n; ++i)
    philox::block(out + 4 * i, first_block + static_cast<uint64_t>(i), substream, s.seed(),
                  s.key_hash());
}

}  // namespace
}  // namespace torchinit::detail

#include "random/fill_impl.h"

namespace torchinit::detail {
const FillKernels& avx512_kernels() { return kKernels; }
}  // namespace torchinit::detail
