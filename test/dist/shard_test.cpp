// init_shard_: every registered initializer, rows / cols / flat / box slices of uneven sizes,
// float32 and float64 (and bfloat16 through the buffer path), bitwise equal to the same slice of
// a full init_ computed in the same test; errors leave the shard unchanged.
#include "torchinit/shard.h"

#include <ATen/Functions.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/init.h"
#include "torchinit/random.h"
#include "torchinit/registry.h"

namespace {

using torchinit::InitOptions;
using torchinit::Slice;
using torchinit::testutil::ContainsAll;
using torchinit::testutil::error_of;
using torchinit::testutil::fill_pattern_;
using torchinit::testutil::same_bytes;
using Shape = std::vector<int64_t>;

struct ShardCase {
  std::string spec;
  Shape full;
};

// One case per registered name (at least): odd sizes so that no split is even.
const std::map<std::string, std::vector<ShardCase>>& shard_cases() {
  static const std::map<std::string, std::vector<ShardCase>> c = {
      {"chrono", {{"chrono(t_max=100)", {4 * 37}}}},
      {"constant", {{"constant(val=0.5)", {37, 23}}}},
      {"delta_orthogonal", {{"delta_orthogonal", {24, 13, 3, 3}}}},
      {"dirac", {{"dirac", {10, 6, 3, 5}}, {"dirac(groups=2)", {8, 4, 3, 3}}}},
      {"eye", {{"eye", {37, 23}}, {"eye", {13, 29}}}},
      {"fixup", {{"fixup(layers=16)", {24, 7, 3, 3}}}},
      {"forget_gate_bias", {{"forget_gate_bias(value=1)", {4 * 9}}}},
      {"kaiming_normal", {{"kaiming_normal(mode=fan_out, nonlinearity=relu)", {37, 23, 3, 3}}}},
      {"kaiming_uniform", {{"kaiming_uniform", {37, 23}}}},
      {"lecun_normal", {{"lecun_normal", {37, 23}}}},
      {"lecun_uniform", {{"lecun_uniform", {37, 23}}}},
      {"normal", {{"normal(mean=1, std=2)", {37, 23}}, {"normal", {101}}}},
      {"ones", {{"ones", {11, 7}}}},
      // Beyond one of CholeskyQR's 1024-row panels, 256-column tiles and 128-row blocks, uneven.
      {"orthogonal",
       {{"orthogonal(gain=relu)", {37, 23}},
        {"orthogonal", {23, 37}},
        {"orthogonal", {1100, 300}},
        {"orthogonal", {300, 1100}},
        {"orthogonal", {290, 7, 41}}}},
      {"scaled_trunc_normal", {{"scaled_trunc_normal(scale=2, mode=fan_avg)", {37, 23, 3}}}},
      {"sparse", {{"sparse(sparsity=0.3)", {37, 23}}}},
      {"trunc_normal", {{"trunc_normal(std=0.02, a=-0.04, b=0.04)", {37, 23}}}},
      {"uniform", {{"uniform(a=-1, b=3)", {37, 23}}}},
      {"variance_scaling",
       {{"variance_scaling(scale=2, mode=fan_avg, distribution=truncated_normal)", {37, 23, 5}}}},
      {"xavier_normal", {{"xavier_normal", {37, 23}}}},
      {"xavier_uniform", {{"xavier_uniform(gain=tanh)", {23, 37}}}},
      {"zeros", {{"zeros", {5}}}},
  };
  return c;
}

TEST(Shard, EveryRegisteredInitializerHasACase) {
  for (const std::string& name : torchinit::Registry::global().names())
    EXPECT_EQ(shard_cases().count(name), 1u) << "initializer '" << name << "' has no shard case";
}

// Uneven cut points of [0, n): [0, a), [a, b), [b, n) with a, b away from n/3, 2n/3, plus an
// empty piece.
std::vector<std::pair<int64_t, int64_t>> pieces(int64_t n) {
  const int64_t a = n / 3 + 1 > n ? n : n / 3 + 1, b = std::max(a, n - n / 4);
  return {{0, a}, {a, b}, {b, n}, {b, b}};
}

// The part of `full` that `slice` names, as a tensor of the shard's shape.
at::Tensor expected_part(const at::Tensor& full, const Slice& slice, const Shape& shard_shape) {
  const std::vector<torchinit::ElementRun> runs = slice.runs(full.sizes().vec());
  const at::Tensor flat = full.reshape({-1});
  std::vector<at::Tensor> parts;
  for (const auto& r : runs) parts.push_back(flat.narrow(0, r.first, r.count));
  if (parts.empty()) return at::empty(shard_shape, full.options());
  return at::cat(parts).reshape(shard_shape);
}

std::vector<Slice> slices_of(const Shape& full) {
  std::vector<Slice> out;
  int64_t numel = 1;
  for (int64_t d : full) numel *= d;
  for (auto [b, e] : pieces(full[0])) out.push_back(Slice::rows(b, e));
  for (auto [b, e] : pieces(numel)) out.push_back(Slice::flat(b, e));
  if (numel >= 8) out.push_back(Slice::flat(numel / 2 - 3, numel / 2 + 5));  // a middle chunk
  if (full.size() >= 2) {
    for (auto [b, e] : pieces(full[1])) out.push_back(Slice::cols(b, e));
    // A box that is partial in every dim: runs in the innermost dim.
    std::vector<std::pair<int64_t, int64_t>> box;
    for (int64_t d : full) box.emplace_back(d / 4, d - d / 3);
    out.push_back(Slice::box(box));
    out.push_back(Slice::box({{1, full[0] - 1}, {0, full[1]}}));  // partial dim 0 only
    if (full.size() >= 3) out.push_back(Slice::dim(full.size() - 1, 1, full.back()));
  }
  out.push_back(Slice::all());
  return out;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

TEST(Shard, EverySliceIsBitwiseTheSameSliceOfTheFullInit) {
  int checked = 0;
  for (const auto& [name, list] : shard_cases()) {
    for (const ShardCase& c : list) {
      for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
        const auto opts = InitOptions().seed(1234).key("layer." + name);
        const at::Tensor full =
            torchinit::init_(at::empty(c.full, at::TensorOptions().dtype(dtype)), c.spec, opts);
        for (const Slice& slice : slices_of(c.full)) {
          const Shape shape = slice.shard_shape(c.full);
          at::Tensor shard = at::empty(shape, at::TensorOptions().dtype(dtype));
          fill_pattern_(shard);
          torchinit::init_shard_(shard, c.spec, c.full, slice, opts);
          EXPECT_TRUE(same_bytes(shard, expected_part(full, slice, shape)))
              << c.spec << " full " << shape_text(c.full) << " " << slice.str() << " " << dtype;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 400);
}

// [begin, end) of rank r's near-even share of n (the first n % world ranks get one more), as a
// distributed program cuts a parameter.
std::pair<int64_t, int64_t> share(int64_t n, int64_t world, int64_t r) {
  const int64_t base = n / world, extra = n % world;
  const int64_t b = r * base + std::min(r, extra);
  return {b, b + base + (r < extra ? 1 : 0)};
}

// Every initializer cut for world sizes 1…4 by rows, by columns and as a 2-D block grid (4 ranks:
// 2 × 2; 2 ranks: 2 × 1), each rank filling its shard on its own: the shards put together are
// the full init, byte for byte (the odd sizes of the cases make every split uneven).
TEST(Shard, AssembledShardsOfWorldSizes1To4AreTheFullInit) {
  int assembled_count = 0;
  for (const auto& [name, list] : shard_cases()) {
    for (const ShardCase& c : list) {
      const auto opts = InitOptions().seed(99).key("w." + name);
      const at::Tensor full = torchinit::init_(at::empty(c.full), c.spec, opts);
      for (int64_t world = 1; world <= 4; ++world) {
        std::vector<std::pair<std::string, std::vector<Slice>>> layouts;
        std::vector<Slice> rows, cols, grid;
        for (int64_t r = 0; r < world; ++r) {
          const auto [b, e] = share(c.full[0], world, r);
          rows.push_back(Slice::rows(b, e));
          if (c.full.size() >= 2) {
            const auto [cb, ce] = share(c.full[1], world, r);
            cols.push_back(Slice::cols(cb, ce));
          }
        }
        layouts.push_back({"rows", rows});
        if (c.full.size() >= 2) {
          layouts.push_back({"cols", cols});
          const int64_t grid_rows = world == 4 ? 2 : world, grid_cols = world == 4 ? 2 : 1;
          for (int64_t i = 0; i < grid_rows; ++i)
            for (int64_t j = 0; j < grid_cols; ++j) {
              std::vector<std::pair<int64_t, int64_t>> box(c.full.size());
              for (size_t d = 0; d < c.full.size(); ++d) box[d] = {0, c.full[d]};
              box[0] = share(c.full[0], grid_rows, i);
              box[1] = share(c.full[1], grid_cols, j);
              grid.push_back(Slice::box(box));
            }
          layouts.push_back({"grid", grid});
        }
        for (const auto& [layout, slices] : layouts) {
          at::Tensor assembled = at::empty(c.full);
          fill_pattern_(assembled);
          for (const Slice& slice : slices) {
            at::Tensor shard = at::empty(slice.shard_shape(c.full));
            torchinit::init_shard_(shard, c.spec, c.full, slice, opts);
            // The shard's elements in the full tensor, in row-major order (Slice::runs).
            at::Tensor flat = assembled.view({-1});
            int64_t at_shard = 0;
            const at::Tensor shard_flat = shard.reshape({-1});
            for (const auto& run : slice.runs(c.full)) {
              flat.narrow(0, run.first, run.count).copy_(shard_flat.narrow(0, at_shard, run.count));
              at_shard += run.count;
            }
          }
          EXPECT_TRUE(same_bytes(assembled, full))
              << c.spec << " " << shape_text(c.full) << " world " << world << " by " << layout;
          ++assembled_count;
        }
      }
    }
  }
  EXPECT_GT(assembled_count, 250);
}

// Half types and strided shards go through the float buffer: same values as init_ on the same
// dtype.
TEST(Shard, HalfTypesAndStridedShardsMatchTheFullInit) {
  const Shape full{37, 23};
  const auto opts = InitOptions().seed(5).key("w");
  for (const char* spec : {"xavier_uniform", "orthogonal"}) {
    const at::Tensor whole =
        torchinit::init_(at::empty(full, at::TensorOptions().dtype(at::kBFloat16)), spec, opts);
    at::Tensor shard = at::empty({37, 9}, at::TensorOptions().dtype(at::kBFloat16));
    torchinit::init_shard_(shard, spec, full, Slice::cols(7, 16), opts);
    EXPECT_TRUE(same_bytes(shard, whole.narrow(1, 7, 9))) << spec;
    // A transposed (non-contiguous) float shard.
    const at::Tensor ref = torchinit::init_(at::empty(full), spec, opts);
    at::Tensor strided = at::empty({9, 37}).t();
    torchinit::init_shard_(strided, spec, full, Slice::cols(7, 16), opts);
    EXPECT_TRUE(same_bytes(strided.contiguous(), ref.narrow(1, 7, 9).contiguous())) << spec;
  }
}

// Element-wise initializers use shard-sized memory: a slice of a 2^20 x 2^20 parameter (4 TiB
// in float32) is computed directly, with the scale from the full shape's fans.
TEST(Shard, ElementWiseSlicesOfAHugeParameterNeedOnlyShardMemory) {
  const int64_t n = int64_t(1) << 20;
  const Shape full{n, n};
  at::Tensor shard = at::empty({2, n});
  torchinit::init_shard_(shard, "kaiming_normal", full, Slice::rows(5, 7),
                         InitOptions().seed(9).key("huge"));
  // kaiming_normal(a=0): N(0, 2 / fan_in), fan_in = 2^20; elements [5n, 7n) of the stream.
  at::Tensor want = at::empty({2, n});
  torchinit::fill_normal(want.data_ptr<float>(), 5 * n, 2 * n,
                         torchinit::Stream(9, torchinit::hash_key("huge")), 0,
                         std::sqrt(2.0 / double(n)));
  EXPECT_TRUE(same_bytes(shard, want));
  // cols of the huge parameter: 3 columns of every row would be 2^20 runs; use a box instead.
  at::Tensor box = at::empty({4, 3});
  torchinit::init_shard_(box, "xavier_uniform", full, Slice::box({{n - 4, n}, {10, 13}}),
                         InitOptions().seed(9).key("huge"));
  const double bound = std::sqrt(6.0 / double(2 * n));
  std::vector<float> row(3);
  for (int64_t r = 0; r < 4; ++r) {
    torchinit::fill_uniform(row.data(), (n - 4 + r) * n + 10, 3,
                            torchinit::Stream(9, torchinit::hash_key("huge")), -bound, bound);
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(torchinit::testutil::float_bits(box[r][c].item<float>()),
                torchinit::testutil::float_bits(row[c]))
          << r << "," << c;
  }
}

// sparse decides each element's fate on its own (a keyed permutation of the rows per column), so
// a shard of a parameter of 2^40 elements takes the shard's memory and time; and across the
// shards of one column, exactly ceil(sparsity · rows) of its elements are zero.
TEST(Shard, SparseSlicesOfAHugeParameterNeedOnlyShardMemory) {
  const int64_t n = int64_t(1) << 20;
  at::Tensor box = at::empty({3, 5});
  torchinit::init_shard_(box, "sparse(sparsity=0.5)", Shape{n, n},
                         Slice::box({{n - 3, n}, {7, 12}}), InitOptions().seed(9).key("huge"));
  EXPECT_TRUE(box.isfinite().all().item<bool>());
  // One column of 1000 rows, cut into 7 uneven row shards: 500 zeros in all, bitwise the column
  // of the full init.
  const Shape tall{1000, 3};
  at::Tensor full = at::empty(tall);
  torchinit::init_(full, "sparse(sparsity=0.5)", InitOptions().seed(4).key("tall"));
  int64_t zeros = 0;
  for (const auto& [b, e] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 1}, {1, 98}, {98, 400}, {400, 401}, {401, 733}, {733, 999}, {999, 1000}}) {
    at::Tensor part = at::empty({e - b, 1});
    torchinit::init_shard_(part, "sparse(sparsity=0.5)", tall, Slice::box({{b, e}, {1, 2}}),
                           InitOptions().seed(4).key("tall"));
    EXPECT_TRUE(same_bytes(part, full.slice(0, b, e).slice(1, 1, 2).contiguous())) << b;
    zeros += part.eq(0).sum().item<int64_t>();
  }
  EXPECT_EQ(zeros, 500);
}

// LSTM bias schemes compute only the shard's elements: a slice across the gate boundaries of a
// bias of 4·2^30 elements, checked against the formulas (chrono: gate i = -ln u_j, gate f = ln u_j
// with u_j element j of the stream; forget_gate_bias: value on gate f only).
TEST(Shard, LstmBiasSlicesOfAHugeParameterNeedOnlyShardMemory) {
  const int64_t h = int64_t(1) << 30;
  const torchinit::Stream stream(3, torchinit::hash_key("lstm.bias_ih_l0"));
  for (const int64_t gate : {0, 1, 2, 3}) {
    at::Tensor chrono = at::empty({4});
    // The last 2 elements of a gate and the first 2 of the next (the last 4 for gate o).
    const int64_t first = std::min(gate * h + h - 2, 4 * h - 4);
    torchinit::init_shard_(chrono, "chrono(t_max=100)", Shape{4 * h},
                           Slice::dim(0, first, first + 4),
                           InitOptions().seed(3).key("lstm.bias_ih_l0"));
    at::Tensor fgb = at::empty({4});
    torchinit::init_shard_(fgb, "forget_gate_bias(value=1)", Shape{4 * h},
                           Slice::dim(0, first, first + 4), InitOptions().seed(3).key("b"));
    for (int64_t k = 0; k < 4; ++k) {
      const int64_t e = first + k, g = e / h, j = e % h;
      float u = 0;
      torchinit::fill_uniform(&u, j, 1, stream, 1.0, 99.0);
      const float log_u = static_cast<float>(std::log(double(u)));
      const float want = g == 0 ? -log_u : g == 1 ? log_u : 0.0f;
      EXPECT_EQ(torchinit::testutil::float_bits(chrono[k].item<float>()),
                torchinit::testutil::float_bits(want))
          << "element " << e;
      EXPECT_EQ(fgb[k].item<float>(), g == 1 ? 1.0f : 0.0f) << "element " << e;
    }
  }
}

// delta_orthogonal keeps only its [out, in] center: a box around the center of a 64×64×999×999
// kernel (16 GB as float32) holds the orthogonal matrix's entries at the center tap, 0 elsewhere.
TEST(Shard, DeltaOrthogonalSlicesOfAHugeKernelNeedOnlyTheCenterMatrix) {
  const Shape full{64, 64, 999, 999};
  at::Tensor box = at::empty({2, 3, 3, 3});
  torchinit::init_shard_(box, "delta_orthogonal", full,
                         Slice::box({{10, 12}, {20, 23}, {498, 501}, {498, 501}}),
                         InitOptions().seed(6).key("conv"));
  // A 3×3 kernel of the same [out, in] has the same center: the same stream elements and QR.
  at::Tensor small = at::empty({64, 64, 3, 3});
  torchinit::init_(small, "delta_orthogonal", InitOptions().seed(6).key("conv"));
  const at::Tensor q = small.select(3, 1).select(2, 1);
  for (int64_t o = 0; o < 2; ++o)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t y = 0; y < 3; ++y)
        for (int64_t x = 0; x < 3; ++x) {
          const float want = y == 1 && x == 1 ? q[10 + o][20 + i].item<float>() : 0.0f;
          EXPECT_EQ(torchinit::testutil::float_bits(box[o][i][y][x].item<float>()),
                    torchinit::testutil::float_bits(want))
              << o << i << y << x;
        }
}

// Bad slices and shards: the message names the argument and the fix; the shard is unchanged.
TEST(Shard, ErrorsNameTheArgumentAndLeaveTheShardUnchanged) {
  struct Bad {
    std::string spec;
    Shape full;
    Slice slice;
    Shape shard;
    std::vector<std::string> parts;
    InitOptions opts = InitOptions().seed(1);
  };
  const std::vector<Bad> bad = {
      {"normal",
       {10, 4},
       Slice::rows(5, 12),
       {7, 4},
       {"torchinit::init_shard_", "rows [5, 12)", "dim 0 (size 10)", "0 <= begin <= end <= 10"}},
      {"normal", {10, 4}, Slice::cols(3, 2), {10, 0}, {"cols [3, 2)", "out of range"}},
      {"normal", {10}, Slice::cols(0, 1), {10, 1}, {"needs dim 1", "has 1 dims", "Slice::flat"}},
      {"normal", {10, 4}, Slice::flat(30, 41), {11}, {"flat [30, 41)", "40 elements"}},
      {"normal",
       {10, 4},
       Slice::rows(0, 5),
       {4, 5},
       {"shard has shape [4, 5]", "has shape [5, 4]", "allocate the shard"}},
      {"normal", {10, 4}, Slice::flat(0, 8), {3, 3}, {"holds 9 elements", "has 8"}},
      {"eye", {10, 4, 3}, Slice::rows(0, 5), {5, 4, 3}, {"torchinit::init_shard_", "eye", "2-D"}},
      {"normal",
       {10, 4},
       Slice::rows(0, 5),
       {5, 4},
       {"Backend::Philox"},
       InitOptions().seed(1).backend(torchinit::Backend::Torch)},
  };
  for (const auto& b : bad) {
    at::Tensor shard = at::empty(b.shard);
    fill_pattern_(shard);
    const at::Tensor before = shard.clone();
    EXPECT_TRUE(ContainsAll(
        error_of([&] { torchinit::init_shard_(shard, b.spec, b.full, b.slice, b.opts); }), b.parts))
        << b.slice.str();
    EXPECT_TRUE(same_bytes(shard, before)) << b.slice.str();
  }
  // An empty shard of an uneven split still validates the spec against the full shape.
  at::Tensor empty = at::empty({0, 4, 3});
  EXPECT_TRUE(ContainsAll(
      error_of([&] {
        torchinit::init_shard_(empty, "eye", {10, 4, 3}, Slice::rows(3, 3), InitOptions().seed(1));
      }),
      {"eye", "2-D"}));
}

TEST(Slice, RunsMergeWholeTrailingDims) {
  const Shape full{4, 5, 6};
  const auto r = Slice::rows(1, 3).runs(full);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, 30);
  EXPECT_EQ(r[0].count, 60);
  const auto c = Slice::cols(2, 4).runs(full);
  ASSERT_EQ(c.size(), 4u);  // one run of 2x6 per row
  EXPECT_EQ(c[1].first, 30 + 12);
  EXPECT_EQ(c[1].count, 12);
  EXPECT_EQ(Slice::box({{0, 4}, {0, 5}, {1, 2}}).runs(full).size(), 20u);
  EXPECT_TRUE(Slice::rows(2, 2).runs(full).empty());
  EXPECT_EQ(Slice::cols(2, 4).str(), "cols [2, 4)");
  EXPECT_EQ(Slice::box({{0, 4}, {1, 2}}).str(), "box [0, 4) x [1, 2)");
}

}  // namespace
