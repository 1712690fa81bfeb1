// AVX2 kernel table: Philox4x32-10 on 8 counters per instruction (_mm256_mul_epu32 gives the
// 32x32->64 products of the even lanes; the odd lanes are shifted down and multiplied again).
// Built with -mavx2 -mfma -ffp-contract=off; only called when the CPU has AVX2.
#include <immintrin.h>

#include <cstdint>

#include "random/philox.h"
#include "torchinit/random.h"

namespace torchinit::detail {
namespace {

// (hi, lo) 32-bit halves of the 8 products a * m.
inline void mulhilo(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

void generate_blocks(uint32_t* out, uint64_t first_block, int64_t n, const Stream& s,
                     uint16_t substream) {
  int64_t i = 0;
  // Counter word 1 is the same for the whole call unless the low 32 bits of the block wrap.
  if ((first_block & 0xffffffffu) + static_cast<uint64_t>(n) <= (uint64_t{1} << 32)) {
    __m256i k0[philox::kRounds], k1[philox::kRounds];
    uint32_t key0 = static_cast<uint32_t>(s.seed()), key1 = static_cast<uint32_t>(s.seed() >> 32);
    for (int r = 0; r < philox::kRounds; ++r, key0 += philox::kW0, key1 += philox::kW1) {
      k0[r] = _mm256_set1_epi32(static_cast<int>(key0));
      k1[r] = _mm256_set1_epi32(static_cast<int>(key1));
    }
    const __m256i m0 = _mm256_set1_epi32(static_cast<int>(philox::kM0));
    const __m256i m1 = _mm256_set1_epi32(static_cast<int>(philox::kM1));
    const __m256i c1 =
        _mm256_set1_epi32(static_cast<int>(philox::counter_word1(first_block, substream)));
    const __m256i c2 = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(s.key_hash())));
    const __m256i c3 =
        _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(s.key_hash() >> 32)));
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (; i + 8 <= n; i += 8) {
      __m256i x0 = _mm256_add_epi32(
          _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(first_block + i))), lanes);
      __m256i x1 = c1, x2 = c2, x3 = c3;
      for (int r = 0; r < philox::kRounds; ++r) {
        __m256i hi0, lo0, hi1, lo1;
        mulhilo(x0, m0, hi0, lo0);
        mulhilo(x2, m1, hi1, lo1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), k0[r]);
        x1 = lo1;
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), k1[r]);
        x3 = lo0;
      }
      // Transpose 4 words x 8 blocks into block order.
      const __m256i t0 = _mm256_unpacklo_epi32(x0, x1), t1 = _mm256_unpackhi_epi32(x0, x1);
      const __m256i t2 = _mm256_unpacklo_epi32(x2, x3), t3 = _mm256_unpackhi_epi32(x2, x3);
      const __m256i b04 = _mm256_unpacklo_epi64(t0, t2), b15 = _mm256_unpackhi_epi64(t0, t2);
      const __m256i b26 = _mm256_unpacklo_epi64(t1, t3), b37 = _mm256_unpackhi_epi64(t1, t3);
      __m256i* dst = reinterpret_cast<__m256i*>(out + 4 * i);
      _mm256_storeu_si256(dst + 0, _mm256_permute2x128_si256(b04, b15, 0x20));
      _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(b26, b37, 0x20));
      _mm256_storeu_si256(dst + 2, _mm256_permute2x128_si256(b04, b15, 0x31));
      _mm256_storeu_si256(dst + 3, _mm256_permute2x128_si256(b26, b37, 0x31));
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
const FillKernels& avx2_kernels() { return kKernels; }
}  // namespace torchinit::detail
