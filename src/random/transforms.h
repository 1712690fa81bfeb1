// Bits -> values, written as plain scalar code that the compiler vectorizes in each ISA's
// translation unit. Only IEEE operations that are correctly rounded in scalar and SIMD form
// (+, *, sqrt, int <-> float conversions, no FMA: built with -ffp-contract=off), so scalar and
// vector code give the same bytes.
#pragma once

#include <cstdint>
#include <cstring>

namespace torchinit::detail {
namespace {

template <typename To, typename From>
inline To bit_cast(From x) {
  To y;
  std::memcpy(&y, &x, sizeof(y));
  return y;
}

// uniform: a + (b - a) u with u = (w >> 8) 2^-24 (float) or (bits >> 11) 2^-53 (double), computed
// in double.
inline float uniform24(uint32_t w, double a, double width) {
  const double u = static_cast<double>(static_cast<int32_t>(w >> 8)) * (1.0 / 16777216.0);
  return static_cast<float>(a + width * u);
}
inline double uniform53(uint32_t lo, uint32_t hi, double a, double width) {
  const int64_t bits = static_cast<int64_t>(((uint64_t{hi} << 32) | lo) >> 11);
  return a + width * (static_cast<double>(bits) * (1.0 / 9007199254740992.0));
}

// ln(x) for x in [2^-32, 1] (Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9
// polynomial in m - 1; about 1 ulp).
inline float log_unit(float x) {
  const uint32_t b = bit_cast<uint32_t>(x);
  int32_t e = static_cast<int32_t>(b >> 23) - 126;  // x = m 2^e, m in [1/2, 1)
  const float m = bit_cast<float>((b & 0x7fffffu) | 0x3f000000u);
  const bool low = m < 0.70710678f;
  e -= low ? 1 : 0;
  const float t = low ? (m + m) - 1.0f : m - 1.0f;  // exact (Sterbenz)
  const float z = t * t;
  float p = 7.0376836292E-2f;
  p = p * t + -1.1514610310E-1f;
  p = p * t + 1.1676998740E-1f;
  p = p * t + -1.2420140846E-1f;
  p = p * t + 1.4249322787E-1f;
  p = p * t + -1.6668057665E-1f;
  p = p * t + 2.0000714765E-1f;
  p = p * t + -2.4999993993E-1f;
  p = p * t + 3.3333331174E-1f;
  const float fe = static_cast<float>(e);
  float y = p * t * z;
  y = y + -2.12194440e-4f * fe;
  y = y + -0.5f * z;
  return (t + y) + 0.693359375f * fe;  // ln 2 split in two for accuracy
}

// Box-Muller in float for one pair of words: z0 = r cos(2 pi u2), z1 = r sin(2 pi u2) with
// r = sqrt(-2 ln u1), u1 = ((w0 >> 1) + 1/2) 2^-31 in (0, 1] (tail to 6.66 std) and
// u2 = (w1 >> 8) 2^-24. The angle is split into q quarter turns plus x in [-pi/4, pi/4] so the
// Cephes sin/cos polynomials need no range reduction.
inline void box_muller_f(uint32_t w0, uint32_t w1, float& z0, float& z1) {
  const float u1 = static_cast<float>(static_cast<int32_t>(w0 >> 1)) * 0x1p-31f + 0x1p-32f;
  const float r = __builtin_sqrtf(-2.0f * log_unit(u1));
  const int32_t k = static_cast<int32_t>(w1 >> 8);  // angle = k 2^-24 turns
  const int32_t q = (k + (1 << 21)) >> 22;          // nearest quarter turn, 0..4
  const float x = static_cast<float>(k - (q << 22)) * (0x1p-22f * 1.57079632679489662f);
  const float zz = x * x;
  const float s =
      ((-1.9515295891E-4f * zz + 8.3321608736E-3f) * zz + -1.6666654611E-1f) * zz * x + x;
  const float c =
      ((2.443315711809948E-5f * zz + -1.388731625493765E-3f) * zz + 4.166664568298827E-2f) * zz *
          zz +
      (-0.5f * zz + 1.0f);
  // cos/sin(q pi/2 + x): odd q swaps them; q = 1, 2 negate the cosine, q = 2, 3 the sine.
  const bool odd = (q & 1) != 0;
  const float cos_sign = 1.0f - static_cast<float>((q + 1) & 2);
  const float sin_sign = 1.0f - static_cast<float>(q & 2);
  z0 = r * ((odd ? s : c) * cos_sign);
  z1 = r * ((odd ? c : s) * sin_sign);
}

}  // namespace
}  // namespace torchinit::detail
