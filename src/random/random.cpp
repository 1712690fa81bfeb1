#include "torchinit/random.h"

#include <Random123/philox.h>

#include <algorithm>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <vector>

#include "random/kernels.h"

namespace torchinit {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kSqrt2 = 1.4142135623730950488016887242097;
constexpr double k2Pow32 = 4294967296.0;

uint64_t splitmix64_finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Calls emit(element, words) for every element in [first, first + count), where words are the
// Philox outputs of the element's block; elements_per_block is 4 (32-bit) or 2 (64-bit).
template <int ElementsPerBlock, typename Emit>
void for_each_block(int64_t first, int64_t count, const Stream& s, uint16_t substream, Emit emit) {
  const int64_t end = first + count;
  for (int64_t e = first; e < end;) {
    const int64_t blk = e / ElementsPerBlock;
    const auto words = s.block(static_cast<uint64_t>(blk), substream);
    const int64_t block_end = std::min(end, (blk + 1) * ElementsPerBlock);
    for (; e < block_end; ++e) emit(e, static_cast<int>(e - blk * ElementsPerBlock), words);
  }
}

// u in [0, 1) from 53 bits.
inline double unit53(uint32_t lo, uint32_t hi) {
  const uint64_t w = (static_cast<uint64_t>(hi) << 32) | lo;
  return (w >> 11) * (1.0 / 9007199254740992.0);
}
// u in (0, 1): never 0, so log(u) and quantiles stay finite.
inline double open32(uint32_t w) { return (w + 0.5) / k2Pow32; }
inline double open53(uint32_t lo, uint32_t hi) {
  const uint64_t w = (static_cast<uint64_t>(hi) << 32) | lo;
  return ((w >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// Box-Muller: the pair (u1, u2) gives z = r cos(theta) for the first element, r sin(theta) for
// the second.
inline double box_muller(double u1, double u2, bool second) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = kTwoPi * u2;
  return second ? r * std::sin(theta) : r * std::cos(theta);
}

// Standard normal CDF Phi and survival function Phi^c, accurate in both tails.
inline double phi_lower(double x) { return 0.5 * std::erfc(-x / kSqrt2); }
inline double phi_upper(double x) { return 0.5 * std::erfc(x / kSqrt2); }

// Inverse-CDF sampler of N(0,1) truncated to [alpha, beta]. To keep precision when the interval
// lies in the upper tail it is mirrored to the lower one; each draw then inverts whichever tail
// mass (lower or upper) is the smaller, so no quantile is taken of a number close to 1.
class TruncatedNormalSampler {
 public:
  TruncatedNormalSampler(double alpha, double beta) {
    flip_ = alpha >= 0;  // interval entirely in the upper half: mirror it
    if (flip_) {
      const double mirrored_alpha = -beta;
      beta = -alpha;
      alpha = mirrored_alpha;
    }
    lower_mass_ = phi_lower(alpha);  // P(Z < alpha), tiny and accurate since alpha < 0
    upper_mass_ = phi_upper(beta);   // P(Z > beta)
    mass_ = beta <= 0 ? phi_lower(beta) - lower_mass_ : 1.0 - lower_mass_ - upper_mass_;
  }
  // P(alpha <= Z <= beta).
  double mass() const { return mass_; }
  double operator()(double u) const {
    const double p = lower_mass_ + u * mass_;  // P(Z < x)
    double x;
    if (p <= 0.5) {
      x = -kSqrt2 * boost::math::erfc_inv(2.0 * p);
    } else {
      const double q = upper_mass_ + (1.0 - u) * mass_;  // P(Z > x), without cancellation
      x = kSqrt2 * boost::math::erfc_inv(2.0 * q);
    }
    return flip_ ? -x : x;
  }

 private:
  bool flip_;
  double lower_mass_, upper_mass_, mass_;
};

template <typename T>
void trunc_normal_impl(T* out, int64_t first, int64_t count, const Stream& s, double mean,
                       double std, double a, double b) {
  const TruncatedNormalSampler sample((a - mean) / std, (b - mean) / std);
  // Rounding to T may step just outside [a, b]; the clamp keeps the support exact.
  const T lo = static_cast<T>(a), hi = static_cast<T>(b);
  auto put = [&](int64_t e, double u) {
    const T v = static_cast<T>(mean + std * sample(u));
    out[e - first] = std::min(std::max(v, lo), hi);
  };
  if constexpr (sizeof(T) == 4) {
    for_each_block<4>(first, count, s, kValues,
                      [&](int64_t e, int lane, const auto& w) { put(e, open32(w[lane])); });
  } else {
    for_each_block<2>(first, count, s, kValues, [&](int64_t e, int lane, const auto& w) {
      put(e, open53(w[2 * lane], w[2 * lane + 1]));
    });
  }
}

// Attempts of the rejection sampler before it falls back to the inverse CDF; either way the
// value is exactly truncated-normal, the fallback only bounds the work per element.
constexpr int kAttempts = 8;

// trunc_normal for float where [a, b] holds at least half the mass: the values of fill_normal
// (attempt 0, vectorized) that fall inside [a, b] are kept; element e's rejected value is redrawn
// from attempts 1..kAttempts (substreams kRetry..), then from the inverse CDF.
void trunc_normal_rejection(float* out, int64_t first, int64_t count, const Stream& s, double mean,
                            double std, double a, double b, const TruncatedNormalSampler& sample) {
  const float mean_f = static_cast<float>(mean), std_f = static_cast<float>(std);
  const float lo = static_cast<float>(a), hi = static_cast<float>(b);
  const auto& kernels = detail::active_kernels();
  constexpr int64_t kChunk = 8192;  // scanned while still in L1/L2
  std::vector<int64_t> rejected, still;
  std::vector<float> redrawn;
  for (int64_t done = 0; done < count; done += kChunk) {
    const int64_t n = std::min(kChunk, count - done);
    float* chunk = out + done;
    kernels.normal_f(chunk, first + done, n, s, mean_f, std_f);
    rejected.clear();
    for (int64_t i = 0; i < n; ++i)
      if (!(chunk[i] >= lo && chunk[i] <= hi)) rejected.push_back(first + done + i);
    for (int k = 1; k <= kAttempts && !rejected.empty(); ++k) {
      redrawn.resize(rejected.size());
      kernels.normal_f_at(redrawn.data(), rejected.data(), static_cast<int64_t>(rejected.size()), s,
                          static_cast<uint16_t>(kRetry + k - 1), mean_f, std_f);
      still.clear();
      for (size_t i = 0; i < rejected.size(); ++i) {
        if (redrawn[i] >= lo && redrawn[i] <= hi) {
          out[rejected[i] - first] = redrawn[i];
        } else {
          still.push_back(rejected[i]);
        }
      }
      rejected.swap(still);
    }
    for (int64_t e : rejected) {  // after kAttempts (probability (1 - mass)^kAttempts)
      const auto w =
          s.block(static_cast<uint64_t>(e / 4), static_cast<uint16_t>(kRetry + kAttempts));
      const float v = static_cast<float>(mean + std * sample(open32(w[e % 4])));
      out[e - first] = std::min(std::max(v, lo), hi);
    }
  }
}

}  // namespace

uint64_t hash_key(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return splitmix64_finalize(h);
}

std::array<uint32_t, 4> Stream::block(uint64_t block, uint16_t substream) const {
  r123::Philox4x32 philox;
  const r123::Philox4x32::ctr_type ctr = {
      {static_cast<uint32_t>(block),
       static_cast<uint32_t>((block >> 32) & 0xffffu) | (static_cast<uint32_t>(substream) << 16),
       static_cast<uint32_t>(key_hash_), static_cast<uint32_t>(key_hash_ >> 32)}};
  const r123::Philox4x32::key_type key = {
      {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)}};
  const auto r = philox(ctr, key);
  return {r[0], r[1], r[2], r[3]};
}

void fill_uniform(float* out, int64_t first, int64_t count, const Stream& s, double a, double b) {
  detail::active_kernels().uniform_f(out, first, count, s, a, b);
}

void fill_uniform(double* out, int64_t first, int64_t count, const Stream& s, double a, double b) {
  detail::active_kernels().uniform_d(out, first, count, s, a, b);
}

void fill_normal(float* out, int64_t first, int64_t count, const Stream& s, double mean,
                 double std) {
  detail::active_kernels().normal_f(out, first, count, s, static_cast<float>(mean),
                                    static_cast<float>(std));
}

void fill_normal(double* out, int64_t first, int64_t count, const Stream& s, double mean,
                 double std) {
  for_each_block<2>(first, count, s, kValues, [&](int64_t e, int lane, const auto& w) {
    const double z = box_muller(open53(w[0], w[1]), unit53(w[2], w[3]), lane & 1);
    out[e - first] = mean + std * z;
  });
}

void fill_trunc_normal(float* out, int64_t first, int64_t count, const Stream& s, double mean,
                       double std, double a, double b) {
  const TruncatedNormalSampler sample((a - mean) / std, (b - mean) / std);
  if (sample.mass() >= 0.5) {
    trunc_normal_rejection(out, first, count, s, mean, std, a, b, sample);
  } else {
    trunc_normal_impl(out, first, count, s, mean, std, a, b);
  }
}

void fill_trunc_normal(double* out, int64_t first, int64_t count, const Stream& s, double mean,
                       double std, double a, double b) {
  trunc_normal_impl(out, first, count, s, mean, std, a, b);
}

void fill_bits(uint32_t* out, int64_t first, int64_t count, const Stream& s, uint16_t substream) {
  detail::active_kernels().bits(out, first, count, s, substream);
}

}  // namespace torchinit
