// Huge shapes without allocating them: the element-index and counter math past 2^31 and 2^32,
// fans of shapes whose numel exceeds int32, and views whose numel exceeds 2^31.
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/init.h"
#include "torchinit/random.h"

namespace {

constexpr int64_t k2_31 = int64_t(1) << 31;
constexpr int64_t k2_32 = int64_t(1) << 32;
constexpr int64_t k2_33 = int64_t(1) << 33;

const torchinit::Stream kStream(42, torchinit::hash_key("huge.weight"));

template <typename T, typename Fill>
std::vector<T> range(int64_t first, int64_t count, Fill fill) {
  std::vector<T> out(static_cast<size_t>(count));
  fill(out.data(), first, count);
  return out;
}

TEST(HugeIndices, BlockCounterUsesAll48Bits) {
  // A 32-bit truncation of the block index would repeat block 5 at 2^32 + 5.
  EXPECT_NE(kStream.block(5), kStream.block(uint64_t(k2_32) + 5));
  EXPECT_NE(kStream.block(5), kStream.block(uint64_t(1) << 47 | 5));
  EXPECT_EQ(kStream.block(uint64_t(k2_32) + 5), kStream.block(uint64_t(k2_32) + 5));
}

TEST(HugeIndices, RawBitsPastTwoToThe33AreTheBlockWords) {
  // Element e of a 32-bit stream is word e % 4 of block e / 4: check it at e = 2^33 + 1 ...
  const int64_t first = k2_33 + 1;
  const auto bits = range<uint32_t>(first, 10, [](uint32_t* o, int64_t f, int64_t n) {
    torchinit::fill_bits(o, f, n, kStream, torchinit::kValues);
  });
  for (int64_t i = 0; i < 10; ++i) {
    const int64_t e = first + i;
    EXPECT_EQ(bits[size_t(i)], kStream.block(uint64_t(e / 4))[size_t(e % 4)]) << "element " << e;
  }
}

TEST(HugeIndices, FillAtTwoToThe33EqualsTheSameRangeThroughALongerFill) {
  // Elements [2^33, 2^33 + 8) computed alone, and as the tail of [2^33 - 5, 2^33 + 8): equal,
  // and different from elements [0, 8) (no wrap-around of the counter).
  const int64_t first = k2_33;
  auto uniform32 = [](float* o, int64_t f, int64_t n) {
    torchinit::fill_uniform(o, f, n, kStream, -1, 1);
  };
  auto normal64 = [](double* o, int64_t f, int64_t n) {
    torchinit::fill_normal(o, f, n, kStream, 0, 1);
  };
  auto trunc32 = [](float* o, int64_t f, int64_t n) {
    torchinit::fill_trunc_normal(o, f, n, kStream, 0, 1, -2, 2);
  };
  {
    const auto alone = range<float>(first, 8, uniform32);
    const auto longer = range<float>(first - 5, 13, uniform32);
    EXPECT_EQ(alone, std::vector<float>(longer.begin() + 5, longer.end()));
    EXPECT_NE(alone, range<float>(0, 8, uniform32));
  }
  {
    const auto alone = range<double>(first + 1, 7, normal64);
    const auto longer = range<double>(first - 3, 11, normal64);
    EXPECT_EQ(alone, std::vector<double>(longer.begin() + 4, longer.end()));
    EXPECT_NE(alone, range<double>(1, 7, normal64));
  }
  {
    const auto alone = range<float>(first + 3, 6, trunc32);
    const auto longer = range<float>(first - 2, 11, trunc32);
    EXPECT_EQ(alone, std::vector<float>(longer.begin() + 5, longer.end()));
  }
}

TEST(HugeIndices, FillAcrossTwoToThe31EqualsItsTwoHalves) {
  // [2^31 - 3, 2^31 + 5) in one call, and as [2^31 - 3, 2^31) + [2^31, 2^31 + 5).
  auto normal32 = [](float* o, int64_t f, int64_t n) {
    torchinit::fill_normal(o, f, n, kStream, 0, 1);
  };
  const auto whole = range<float>(k2_31 - 3, 8, normal32);
  auto low = range<float>(k2_31 - 3, 3, normal32);
  const auto high = range<float>(k2_31, 5, normal32);
  low.insert(low.end(), high.begin(), high.end());
  EXPECT_EQ(whole, low);
}

TEST(HugeShapes, FansOfShapesBeyondInt32AreExact) {
  // numel 2^40 and 2^36 * 9: fans must be computed in 64 bits.
  const int64_t n = int64_t(1) << 20;
  {
    const auto d = torchinit::theory("xavier_uniform", {n, n});
    EXPECT_DOUBLE_EQ(d.variance(), 2.0 / double(2 * n));
  }
  {
    const auto d = torchinit::theory("kaiming_normal", {int64_t(1) << 18, int64_t(1) << 18, 3, 3});
    EXPECT_DOUBLE_EQ(d.variance(), 2.0 / (double(int64_t(1) << 18) * 9));  // gain^2 = 2
  }
  {
    const auto d = torchinit::theory("orthogonal", {k2_31 + 1, 2});
    EXPECT_DOUBLE_EQ(d.variance(), 1.0 / double(k2_31 + 1));
  }
  {
    const auto d = torchinit::theory("lecun_normal", {3, k2_32 + 7});
    EXPECT_DOUBLE_EQ(d.variance(), 1.0 / double(k2_32 + 7));
  }
}

TEST(HugeShapes, ExpandedViewBeyondTwoToThe31IsRejectedWithoutAllocating) {
  // numel 2^31 + 1 over one element of storage: filling would need a 8 GiB buffer and write one
  // element 2^31 + 1 times; init_ refuses before allocating or writing.
  const at::Tensor one = at::zeros({1, 1});
  one.fill_(3.5);
  const at::Tensor view = one.expand({k2_31 + 1, 1});
  const std::string msg =
      torchinit::testutil::error_of([&] { torchinit::init_(view, "normal", {}); });
  EXPECT_TRUE(torchinit::testutil::ContainsAll(
      msg, {"torchinit::init_: normal", "[" + std::to_string(k2_31 + 1) + ", 1]", "overlap"}));
  EXPECT_EQ(one.item<float>(), 3.5f);
}

TEST(HugeShapes, MetaTensorBeyondTwoToThe32IsRejectedWithItsShape) {
  const at::Tensor t = at::empty({k2_32 + 3, 2}, at::TensorOptions().device(at::kMeta));
  const std::string msg =
      torchinit::testutil::error_of([&] { torchinit::init_(t, "xavier_uniform", {}); });
  EXPECT_TRUE(torchinit::testutil::ContainsAll(
      msg, {"xavier_uniform", "meta", "[" + std::to_string(k2_32 + 3) + ", 2]"}));
}

}  // namespace
