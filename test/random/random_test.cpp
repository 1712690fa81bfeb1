// Counter-based streams: Philox4x32-10 known answers, the (seed, key hash, block, substream) ->
// (key, counter) mapping, the element -> bits mapping, sharding (a fill at offset `first` equals
// the same slice of a fill from 0) and the statistics of each transform.
#include "torchinit/random.h"

#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/distribution.h"
#include "torchinit/stats.h"

namespace {

using torchinit::Distribution;
using torchinit::Stream;
using torchinit::testutil::kAlpha;
using torchinit::testutil::SamplesMatch;

using Words = std::array<uint32_t, 4>;

// Philox4x32-10 straight from Random123, for counter/key pairs chosen by the test.
Words philox(Words ctr, std::array<uint32_t, 2> key) {
  r123::Philox4x32 p;
  const auto r = p(r123::Philox4x32::ctr_type{{ctr[0], ctr[1], ctr[2], ctr[3]}},
                   r123::Philox4x32::key_type{{key[0], key[1]}});
  return {r[0], r[1], r[2], r[3]};
}

// ---- Philox known answers (Random123's kat_vectors for philox4x32 with 10 rounds) ----

TEST(Philox, KnownAnswerZeroCounterZeroKey) {
  // Stream(seed=0, key_hash=0).block(0) has counter 0 and key 0.
  const Words got = Stream(0, 0).block(0);
  const Words want = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  EXPECT_EQ(got, want);
}

TEST(Philox, KnownAnswerAllOnes) {
  // Counter all ones: block = 2^48 - 1 (words 0-1 low 48 bits), substream 0xffff (high 16 bits
  // of word 1), key hash all ones (words 2-3); key all ones = seed.
  const Stream s(~uint64_t{0}, ~uint64_t{0});
  const Words want = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
  EXPECT_EQ(s.block((uint64_t{1} << 48) - 1, 0xffff), want);
}

TEST(Philox, KnownAnswerPiDigits) {
  // ctr = 243f6a88 85a308d3 13198a2e 03707344, key = a4093822 299f31d0.
  const Stream s(0x299f31d0a4093822ull, 0x0370734413198a2eull);
  const uint64_t block = (uint64_t{0x08d3} << 32) | 0x243f6a88u;
  const Words want = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
  EXPECT_EQ(s.block(block, 0x85a3), want);
}

TEST(Philox, StreamMapsSeedKeyBlockSubstreamAsDocumented) {
  const uint64_t seed = 0x0123456789abcdefull, key = 0xfedcba9876543210ull;
  const Stream s(seed, key);
  for (uint64_t block : {uint64_t{0}, uint64_t{1}, uint64_t{0xffffffff}, uint64_t{1} << 32,
                         (uint64_t{1} << 48) - 2}) {
    for (uint16_t sub : {uint16_t{0}, uint16_t{1}, uint16_t{0x8001}}) {
      const Words want = philox(
          {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32) | (uint32_t{sub} << 16),
           static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)},
          {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
      EXPECT_EQ(s.block(block, sub), want) << "block " << block << " substream " << sub;
    }
  }
}

// ---- hash_key ----

// FNV-1a 64 then the splitmix64 finalizer, written out independently of src/random.cpp.
uint64_t reference_hash(const std::string& key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

TEST(HashKey, PinnedValues) {
  // Pinned: changing these changes every initialized value of every user.
  EXPECT_EQ(torchinit::hash_key(""), 0xf52a15e9a9b5e89bull);
  EXPECT_EQ(torchinit::hash_key("fc1.weight"), 0x97a85473b1ac470bull);
  EXPECT_EQ(torchinit::hash_key("layer1.0.conv1.weight"), 0x81195af16526e3e9ull);
}

TEST(HashKey, MatchesFnv1aWithSplitmixFinalizer) {
  for (const std::string& key :
       std::vector<std::string>{"", "a", "fc1.weight", "fc1.bias", "layer1.0.conv1.weight",
                                std::string("\0x", 2), std::string(300, 'z')}) {
    EXPECT_EQ(torchinit::hash_key(key), reference_hash(key)) << "key '" << key << "'";
  }
}

TEST(HashKey, NearbyKeysDiffer) {
  EXPECT_NE(torchinit::hash_key("fc1.weight"), torchinit::hash_key("fc1.bias"));
  EXPECT_NE(torchinit::hash_key("fc1.weight"), torchinit::hash_key("fc2.weight"));
  EXPECT_NE(torchinit::hash_key(""), torchinit::hash_key(std::string("\0", 1)));
}

// ---- element -> bits mapping ----

TEST(ElementMapping, Float32ElementUsesWordEMod4OfBlockEDiv4) {
  const Stream s(7, torchinit::hash_key("w"));
  constexpr int64_t n = 37;
  std::vector<float> u(n);
  std::vector<uint32_t> bits(n);
  torchinit::fill_uniform(u.data(), 0, n, s, 0.0, 1.0);
  torchinit::fill_bits(bits.data(), 0, n, s, torchinit::kValues);
  for (int64_t e = 0; e < n; ++e) {
    const uint32_t w = s.block(e / 4)[e % 4];
    EXPECT_EQ(bits[e], w) << "element " << e;
    // 24 high bits, exact in float.
    EXPECT_EQ(u[e], static_cast<float>((w >> 8) * (1.0 / 16777216.0))) << "element " << e;
  }
}

TEST(ElementMapping, Float64ElementUsesWordPairOfBlockEDiv2) {
  const Stream s(7, torchinit::hash_key("w"));
  constexpr int64_t n = 21;
  std::vector<double> u(n);
  torchinit::fill_uniform(u.data(), 0, n, s, 0.0, 1.0);
  for (int64_t e = 0; e < n; ++e) {
    const Words w = s.block(e / 2);
    const int lane = static_cast<int>(e % 2);
    const uint64_t bits = (uint64_t{w[2 * lane + 1]} << 32) | w[2 * lane];
    EXPECT_EQ(u[e], (bits >> 11) * (1.0 / 9007199254740992.0)) << "element " << e;
  }
}

TEST(ElementMapping, MaskSubstreamUsesSubstreamOne) {
  const Stream s(11, torchinit::hash_key("mask"));
  std::vector<uint32_t> bits(12);
  torchinit::fill_bits(bits.data(), 0, 12, s, torchinit::kMask);
  for (int64_t e = 0; e < 12; ++e) EXPECT_EQ(bits[e], s.block(e / 4, 1)[e % 4]);
}

// ---- sharding: a fill at offset `first` equals the same slice of a fill from 0 ----

template <typename T, typename Fill>
void ExpectShardsEqualFull(Fill fill, const char* what) {
  constexpr int64_t n = 1031;
  std::vector<T> full(n);
  fill(full.data(), 0, n);
  for (int64_t first : {0, 1, 2, 3, 4, 5, 7, 13, 254, 255, 513, 1029}) {
    for (int64_t count : {1, 2, 3, 5, 8, 17, 100}) {
      if (first + count > n) continue;
      std::vector<T> part(count);
      fill(part.data(), first, count);
      EXPECT_EQ(std::memcmp(part.data(), full.data() + first, count * sizeof(T)), 0)
          << what << ": slice [" << first << ", " << first + count << ") differs";
    }
  }
}

TEST(Sharding, UniformFloatAndDouble) {
  const Stream s(42, torchinit::hash_key("shard"));
  auto f = [&](auto* out, int64_t first, int64_t n) {
    torchinit::fill_uniform(out, first, n, s, -0.3, 0.7);
  };
  ExpectShardsEqualFull<float>(f, "uniform float");
  ExpectShardsEqualFull<double>(f, "uniform double");
}

TEST(Sharding, NormalFloatAndDouble) {
  const Stream s(42, torchinit::hash_key("shard"));
  auto f = [&](auto* out, int64_t first, int64_t n) {
    torchinit::fill_normal(out, first, n, s, 0.5, 2.0);
  };
  ExpectShardsEqualFull<float>(f, "normal float");
  ExpectShardsEqualFull<double>(f, "normal double");
}

TEST(Sharding, TruncNormalFloatAndDouble) {
  const Stream s(42, torchinit::hash_key("shard"));
  auto f = [&](auto* out, int64_t first, int64_t n) {
    torchinit::fill_trunc_normal(out, first, n, s, 0.1, 0.5, -0.4, 1.2);
  };
  ExpectShardsEqualFull<float>(f, "trunc_normal float");
  ExpectShardsEqualFull<double>(f, "trunc_normal double");
}

TEST(Sharding, Bits) {
  const Stream s(42, torchinit::hash_key("shard"));
  for (uint16_t sub : {uint16_t{0}, uint16_t{1}}) {
    ExpectShardsEqualFull<uint32_t>([&](uint32_t* out, int64_t first,
                                        int64_t n) { torchinit::fill_bits(out, first, n, s, sub); },
                                    sub ? "bits substream 1" : "bits substream 0");
  }
}

// ---- independence of streams ----

// Number of positions where a and b agree.
int64_t agreements(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return same;
}

TEST(Streams, SubstreamsSeedsAndKeysGiveDifferentWords) {
  // For independent uniform 32-bit words P(a_i == b_i) = 2^-32; over 4096 words the expected
  // number of agreements is 1e-6, so even one agreement has probability < 1e-6 < alpha.
  constexpr int64_t n = 4096;
  auto words = [&](uint64_t seed, const std::string& key, uint16_t sub) {
    std::vector<uint32_t> w(n);
    torchinit::fill_bits(w.data(), 0, n, Stream(seed, torchinit::hash_key(key)), sub);
    return w;
  };
  const auto base = words(1, "w", 0);
  EXPECT_EQ(agreements(base, words(1, "w", 1)), 0) << "substreams 0 and 1";
  EXPECT_EQ(agreements(base, words(2, "w", 0)), 0) << "seeds 1 and 2";
  EXPECT_EQ(agreements(base, words(1, "w2", 0)), 0) << "keys w and w2";
  EXPECT_EQ(agreements(base, words(1, "w", 0)), n) << "same stream must repeat";
}

TEST(Streams, SeedAndKeyHashAreNotInterchangeable) {
  // (seed, key) = (a, b) and (b, a) are different streams.
  std::vector<uint32_t> x(64), y(64);
  torchinit::fill_bits(x.data(), 0, 64, Stream(3, 5), 0);
  torchinit::fill_bits(y.data(), 0, 64, Stream(5, 3), 0);
  EXPECT_EQ(agreements(x, y), 0);
}

// ---- transforms: support and distribution ----

TEST(RandomUniform, StaysInHalfOpenIntervalFloatAndDouble) {
  // Bounds and widths are powers of two, so a + (b - a) u is exact and b is never reached.
  constexpr int64_t n = 200000;
  const Stream s(5, torchinit::hash_key("uniform"));
  std::vector<float> f(n);
  std::vector<double> d(n);
  torchinit::fill_uniform(f.data(), 0, n, s, -4.0, 4.0);
  torchinit::fill_uniform(d.data(), 0, n, s, -4.0, 4.0);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(f[i] >= -4.0f && f[i] < 4.0f) << "float element " << i << " = " << f[i];
    ASSERT_TRUE(d[i] >= -4.0 && d[i] < 4.0) << "double element " << i << " = " << d[i];
  }
}

TEST(RandomUniform, MatchesTheoryFloatAndDouble) {
  constexpr int64_t n = 100000;
  const Stream s(6, torchinit::hash_key("uniform"));
  std::vector<float> f(n);
  std::vector<double> d(n);
  torchinit::fill_uniform(f.data(), 0, n, s, -0.3, 0.7);
  torchinit::fill_uniform(d.data(), 0, n, s, -0.3, 0.7);
  const Distribution theory = Distribution::uniform(-0.3, 0.7);
  EXPECT_TRUE(SamplesMatch(std::vector<double>(f.begin(), f.end()), theory));
  EXPECT_TRUE(SamplesMatch(d, theory));
}

TEST(RandomNormal, MatchesTheoryFloatAndDouble) {
  constexpr int64_t n = 100000;
  const Stream s(7, torchinit::hash_key("normal"));
  std::vector<float> f(n);
  std::vector<double> d(n);
  torchinit::fill_normal(f.data(), 0, n, s, 0.25, 1.5);
  torchinit::fill_normal(d.data(), 0, n, s, 0.25, 1.5);
  const Distribution theory = Distribution::normal(0.25, 1.5);
  EXPECT_TRUE(SamplesMatch(std::vector<double>(f.begin(), f.end()), theory));
  EXPECT_TRUE(SamplesMatch(d, theory));
}

// Box-Muller pairs come from one pair of words: the cos and sin halves must be uncorrelated.
// Under independence of standard normals, x y has mean 0 and variance 1, so
// z = mean(x y) sqrt(n) is N(0, 1) by the CLT; two-sided alpha 1e-4.
template <typename T>
double lag_correlation_z(const std::vector<T>& x, int lag, int stride) {
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i + lag < x.size(); i += stride, ++n) sum += double(x[i]) * double(x[i + lag]);
  return sum / std::sqrt(double(n));
}

TEST(RandomNormal, PairedAndNeighbouringElementsAreUncorrelated) {
  constexpr int64_t n = 400000;
  const Stream s(8, torchinit::hash_key("pairs"));
  std::vector<float> f(n);
  std::vector<double> d(n);
  torchinit::fill_normal(f.data(), 0, n, s, 0.0, 1.0);
  torchinit::fill_normal(d.data(), 0, n, s, 0.0, 1.0);
  const double zc = torchinit::stats::normal_quantile_two_sided(kAlpha);
  // lag 1 with stride 2: exactly the (cos, sin) pairs; lag 2/4: neighbouring pairs and blocks.
  for (int lag : {1, 2, 4}) {
    const int stride = lag == 1 ? 2 : lag;
    EXPECT_LT(std::abs(lag_correlation_z(f, lag, stride)), zc) << "float lag " << lag;
    EXPECT_LT(std::abs(lag_correlation_z(d, lag, stride)), zc) << "double lag " << lag;
  }
}

struct TailCase {
  double mean, std, a, b;
};

void PrintTo(const TailCase& c, std::ostream* os) {
  *os << "mean=" << c.mean << " std=" << c.std << " [" << c.a << ", " << c.b << "]";
}

class TruncNormalTails : public ::testing::TestWithParam<TailCase> {};

TEST_P(TruncNormalTails, StaysInsideAndMatchesTruncatedCdf) {
  const TailCase c = GetParam();
  constexpr int64_t n = 20000;
  const Stream s(9, torchinit::hash_key("tails"));
  std::vector<float> f(n);
  std::vector<double> d(n);
  torchinit::fill_trunc_normal(f.data(), 0, n, s, c.mean, c.std, c.a, c.b);
  torchinit::fill_trunc_normal(d.data(), 0, n, s, c.mean, c.std, c.a, c.b);
  const float fa = static_cast<float>(c.a), fb = static_cast<float>(c.b);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(d[i] >= c.a && d[i] <= c.b) << "double element " << i << " = " << d[i];
    ASSERT_TRUE(f[i] >= fa && f[i] <= fb) << "float element " << i << " = " << f[i];
  }
  const Distribution theory = Distribution::truncated_normal(c.mean, c.std, c.a, c.b);
  EXPECT_TRUE(SamplesMatch(d, theory));
  // Float rounding moves a value by at most half an ulp of max(|a|, |b|) (<= 2^-24 relative);
  // with the interval's scale >= std/|bound| this shifts the CDF by < 1e-5, far below the KS
  // critical distance sqrt(ln(2/alpha) / (2n)) = 0.022 at n = 20000.
  EXPECT_TRUE(SamplesMatch(std::vector<double>(f.begin(), f.end()), theory));
}

INSTANTIATE_TEST_SUITE_P(
    Intervals, TruncNormalTails,
    ::testing::Values(TailCase{0, 1, -2, 2},              // the default
                      TailCase{0, 1, 5, 6},               // far upper tail
                      TailCase{0, 1, -6, -5},             // far lower tail
                      TailCase{0, 1, 8, 8.5},             // farther
                      TailCase{0, 1, -37, -36},           // at the limit the initializer allows
                      TailCase{0, 1, 30, 36.5},           // upper counterpart
                      TailCase{0, 1, -1, 30},             // one-sided in effect
                      TailCase{0, 1, -0.05, 30},          // float rejection, 0.3% from the fallback
                      TailCase{0.3, 1.5, -1, 4},          // asymmetric
                      TailCase{0.5, 1e-3, 0.499, 0.5015}  // small std (pytorch#145498)
                      ));

}  // namespace
