// Every ISA path of the fill kernels gives the bytes of the scalar path, on many (seed, key,
// first, count) including unaligned ends, block-counter wrap-around and every transform; every
// thread count gives the bytes of one thread; the ISA override and TORCHINIT_ISA.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "torchinit/init.h"
#include "torchinit/random.h"

namespace {

using torchinit::Isa;
using torchinit::Stream;

// Restores the ISA that was active before the test.
class IsaGuard {
 public:
  IsaGuard() : saved_(torchinit::active_isa()) {}
  ~IsaGuard() { torchinit::force_isa(saved_); }

 private:
  Isa saved_;
};

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (torchinit::isa_supported(isa)) out.push_back(isa);
  return out;
}

struct Case {
  uint64_t seed;
  std::string key;
  int64_t first, count;
};

// Block-aligned and unaligned starts and lengths around the SIMD widths (8, 16 blocks) and the
// kernels' chunk (512 blocks), and ranges whose block index crosses 2^32 (counter word 0 wraps).
std::vector<Case> isa_cases() {
  std::vector<Case> out;
  const int64_t wrap32 = int64_t{4} << 32;  // float element of block 2^32
  const int64_t firsts[] = {0, 1, 2, 3, 4, 5, 31, 63, 64, 65, 2047, 2049, 4093};
  const int64_t counts[] = {1, 2, 3, 4, 7, 31, 32, 33, 64, 65, 129, 2048, 2051, 5000};
  uint64_t seed = 1;
  for (int64_t f : firsts)
    for (int64_t c : counts)
      out.push_back({seed++ * 0x9E3779B97F4A7C15ULL, "k" + std::to_string(f), f, c});
  for (int64_t f : {wrap32 - 4 * 20 - 1, wrap32 - 4 * 7, wrap32 - 3, wrap32 + 5})
    for (int64_t c : {int64_t{1}, int64_t{57}, int64_t{200}, int64_t{2100}})
      out.push_back({77, "wrap", f, c});
  out.push_back({0, "", 0, 3});
  out.push_back({~uint64_t{0}, "all ones", (int64_t{1} << 47) - 1000, 999});  // near 2^48 blocks
  return out;
}

// The bytes of one fill of every kind (bits in two substreams, uniform, normal and trunc_normal in
// float and double; trunc_normal with a wide interval (rejection) and a tail (inverse CDF)).
std::vector<uint8_t> all_fills(const Case& c) {
  const Stream s(c.seed, torchinit::hash_key(c.key));
  const auto n = static_cast<size_t>(c.count);
  std::vector<uint32_t> b0(n), b1(n);
  std::vector<float> uf(n), nf(n), tf(n), tf_tail(n);
  std::vector<double> ud(n), nd(n), td(n);
  torchinit::fill_bits(b0.data(), c.first, c.count, s, torchinit::kValues);
  torchinit::fill_bits(b1.data(), c.first, c.count, s, torchinit::kMask);
  torchinit::fill_uniform(uf.data(), c.first, c.count, s, -0.3, 0.7);
  torchinit::fill_uniform(ud.data(), c.first, c.count, s, -0.3, 0.7);
  torchinit::fill_normal(nf.data(), c.first, c.count, s, 0.5, 2.0);
  torchinit::fill_normal(nd.data(), c.first, c.count, s, 0.5, 2.0);
  torchinit::fill_trunc_normal(tf.data(), c.first, c.count, s, 0.0, 0.02, -0.04, 0.04);
  torchinit::fill_trunc_normal(tf_tail.data(), c.first, c.count, s, 0.0, 1.0, 1.0, 3.0);
  torchinit::fill_trunc_normal(td.data(), c.first, c.count, s, 0.0, 0.02, -0.04, 0.04);
  std::vector<uint8_t> out;
  auto append = [&](const auto& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(v[0]));
  };
  append(b0), append(b1), append(uf), append(ud), append(nf), append(nd), append(tf),
      append(tf_tail), append(td);
  return out;
}

TEST(IsaPaths, ScalarIsAlwaysSupportedAndTheDefaultIsTheWidest) {
  EXPECT_TRUE(torchinit::isa_supported(Isa::Scalar));
  Isa widest = Isa::Scalar;
  for (Isa isa : supported_isas()) widest = isa;
  if (std::getenv("TORCHINIT_ISA") == nullptr) {
    EXPECT_EQ(torchinit::active_isa(), widest);
  }
}

TEST(IsaPaths, ForceIsaRejectsWhatTheCpuLacks) {
  IsaGuard guard;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (torchinit::isa_supported(isa)) {
      torchinit::force_isa(isa);
      EXPECT_EQ(torchinit::active_isa(), isa);
    } else {
      const Isa before = torchinit::active_isa();
      EXPECT_THROW(torchinit::force_isa(isa), c10::Error) << torchinit::isa_name(isa);
      EXPECT_EQ(torchinit::active_isa(), before);
    }
  }
}

TEST(IsaPaths, EveryPathGivesTheScalarBytes) {
  IsaGuard guard;
  const auto isas = supported_isas();
  if (isas.size() == 1) std::printf("only the scalar path is supported here\n");
  for (const Case& c : isa_cases()) {
    torchinit::force_isa(Isa::Scalar);
    const auto expected = all_fills(c);
    for (Isa isa : isas) {
      torchinit::force_isa(isa);
      EXPECT_TRUE(all_fills(c) == expected)
          << torchinit::isa_name(isa) << " differs from scalar at seed " << c.seed << " key '"
          << c.key << "' first " << c.first << " count " << c.count;
    }
  }
}

TEST(IsaPaths, EveryPathMatchesPhiloxBlocks) {
  IsaGuard guard;
  const Stream s(2024, torchinit::hash_key("blocks"));
  constexpr int64_t first = 3, n = 4 * 700 + 2;
  for (Isa isa : supported_isas()) {
    torchinit::force_isa(isa);
    std::vector<uint32_t> bits(n);
    torchinit::fill_bits(bits.data(), first, n, s, 7);
    for (int64_t e = first; e < first + n; ++e)
      ASSERT_EQ(bits[e - first], s.block(e / 4, 7)[e % 4])
          << torchinit::isa_name(isa) << " element " << e;
  }
}

// init_ splits a tensor into per-thread chunks; the bytes must not depend on how many.
TEST(IsaPaths, ThreadCountsGiveTheSameBytes) {
  IsaGuard guard;
  const int threads = at::get_num_threads();
  for (const char* spec : {"uniform(a=-1, b=1)", "normal(std=0.02)",
                           "trunc_normal(std=0.02, a=-0.04, b=0.04)", "kaiming_uniform"}) {
    for (auto dtype : {at::kFloat, at::kDouble}) {
      at::Tensor one = at::empty({300, 1001}, dtype), two = at::empty({300, 1001}, dtype);
      const auto options = torchinit::InitOptions().seed(5).key("threads");
      at::set_num_threads(1);
      torchinit::init_(one, spec, options);
      at::set_num_threads(2);
      torchinit::init_(two, spec, options);
      EXPECT_EQ(std::memcmp(one.data_ptr(), two.data_ptr(), one.nbytes()), 0) << spec;
    }
  }
  at::set_num_threads(threads);
}

// Run by ctest with TORCHINIT_ISA set (test/CMakeLists.txt: unit_isa_*); in the plain run the
// variable is unset and the default is checked above.
TEST(IsaEnv, ActiveIsaFollowsTheEnvironment) {
  const char* env = std::getenv("TORCHINIT_ISA");
  if (env == nullptr) {
    EXPECT_TRUE(torchinit::isa_supported(torchinit::active_isa()));
    return;
  }
  const std::string v = env;
  bool known = false;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (v != torchinit::isa_name(isa)) continue;
    known = true;
    if (!torchinit::isa_supported(isa)) {
      EXPECT_THROW(torchinit::active_isa(), c10::Error) << "unsupported " << v << " accepted";
      return;
    }
    EXPECT_EQ(torchinit::active_isa(), isa);
    // The selected path fills: its words are Philox blocks.
    const Stream s(31, torchinit::hash_key("env"));
    std::vector<uint32_t> bits(1000);
    torchinit::fill_bits(bits.data(), 1, 1000, s, 0);
    for (int64_t e = 1; e <= 1000; ++e) ASSERT_EQ(bits[e - 1], s.block(e / 4)[e % 4]) << e;
  }
  if (known) return;
  try {
    torchinit::active_isa();
    ADD_FAILURE() << "TORCHINIT_ISA=" << v << " was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find("torchinit::active_isa: expected"),
              std::string::npos)
        << e.what_without_backtrace();
  }
}

}  // namespace
