// The worked examples of docs/adding-an-initializer.md: a new element-wise initializer and a new
// structured one, each written in one place and registered with one line, then used through
// init_, init_shard_, theory and check. Every code block of the doc is a verbatim excerpt of this
// file (AddingAnInitializer.DocShowsThisFilesCode). Also: ElementwiseInitializer fills a shard by
// computing only the shard's elements.

#include <torchinit/elementwise_initializer.h>
#include <torchinit/registry.h>

#include <cmath>
#include <memory>

namespace {

// small init (Nguyen & Salazar 2019): N(0, 2/(5·d)), d = fan_in (the model width).
class SmallInit final : public torchinit::ElementwiseInitializer {
 public:
  // Runs before any byte is written: fans need a weight of at least 2 dims.
  void validate(const torchinit::ParamInfo& p) const override { (void)p.fans("small_init"); }
  // What one element follows; check() compares the tensor with it.
  torchinit::Distribution theory(const torchinit::ParamInfo& p) const override {
    return torchinit::Distribution::normal(0, std_of(p));
  }
  // The element values: init_ and init_shard_ both come from here. `p` is the full parameter.
  torchinit::ElementFill element_fill(const torchinit::ParamInfo& p) const override {
    const double sigma = std_of(p);  // once per parameter, not per element
    return [sigma](auto* out, int64_t first, int64_t count, const torchinit::Stream& s) {
      torchinit::fill_normal(out, first, count, s, 0.0, sigma);
    };
  }
  // Backend::Torch: the same distribution from LibTorch's generator.
  void fill_torch(at::Tensor& t, const torchinit::ParamInfo& p) const override {
    t.normal_(0, std_of(p));
  }

 private:
  static double std_of(const torchinit::ParamInfo& p) {
    return std::sqrt(2.0 / (5.0 * double(p.fans("small_init").fan_in)));
  }
};

}  // namespace

torchinit::RegistryEntry small_init_entry() {
  return {"small_init",
          {},  // aliases
          {},  // arguments (torchinit::ArgSchema): none
          {"Small init for Transformers.", "N(0, s^2), s = sqrt(2/(5·fan_in))",
           "Nguyen & Salazar 2019, Transformers without Tears: Improving the Normalization of "
           "Self-Attention"},
          [](const torchinit::Args&) { return std::make_shared<SmallInit>(); }};
}

// ---- the structured example: one more file of its own ----

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <torchinit/custom_structure.h>

#include <algorithm>

namespace {

// W = W^T exactly, and the elements on and above the diagonal are independent draws of the
// theory's marginal. The Custom structure of "wigner": check() calls it with the whole tensor.
class Symmetric final : public torchinit::structure::Custom {
 public:
  explicit Symmetric(int64_t n) : n_(n) {}
  void check(const torchinit::StructureCheck& in) const override {
    const at::Tensor w = in.values.reshape({n_, n_});
    torchinit::add_exact_comparison(in, w.t(), "its transpose");
    // Below the diagonal the elements repeat those above: test the n(n+1)/2 independent ones
    // (mean, variance, KS, Anderson–Darling, each at alpha/4).
    const at::Tensor upper = w.masked_select(w.new_ones({n_, n_}, at::kBool).triu());
    torchinit::test_tensor_marginal(in.result, upper, torchinit::tensor_moments(upper), in.theory,
                                    in.options.alpha() / 4, in.options, true, in.dtype);
  }

 private:
  int64_t n_;
};

// wigner (Wigner 1955): a symmetric [n, n] weight with N(0, 1/n) entries, element (i, j) for
// i <= j drawn, (j, i) its mirror. Its eigenvalues fill [-2, 2] (the semicircle law).
class Wigner final : public torchinit::ElementwiseInitializer {
 public:
  void validate(const torchinit::ParamInfo& p) const override {
    TORCH_CHECK(p.dim() == 2 && p.shape[0] == p.shape[1], "wigner needs a square 2-D weight, got ",
                c10::IntArrayRef(p.shape), "; use orthogonal or normal for other shapes");
  }
  // The marginal N(0, 1/n) plus the structure that check() verifies beyond it.
  torchinit::Distribution theory(const torchinit::ParamInfo& p) const override {
    const int64_t n = p.shape[0];
    return torchinit::Distribution::normal(0, 1 / std::sqrt(double(n)))
        .with_structure(std::make_shared<Symmetric>(n), "wigner");
  }
  // Element e = (i, j) takes the stream's normal at the index of (min, max): element-wise, so
  // shards compute their part alone.
  torchinit::ElementFill element_fill(const torchinit::ParamInfo& p) const override {
    const int64_t n = p.shape[0];
    const double sigma = 1 / std::sqrt(double(n));
    return [n, sigma](auto* out, int64_t first, int64_t count, const torchinit::Stream& s) {
      for (int64_t e = first; e < first + count; ++e) {
        const int64_t i = e / n, j = e % n;
        torchinit::fill_normal(out + (e - first), std::min(i, j) * n + std::max(i, j), 1, s, 0.0,
                               sigma);
      }
    };
  }
  void fill_torch(at::Tensor& t, const torchinit::ParamInfo& p) const override {
    t.normal_(0, 1 / std::sqrt(double(p.shape[0])));
    t.copy_(t.triu() + t.triu(1).t());
  }
};

}  // namespace

torchinit::RegistryEntry wigner_entry() {
  return {"wigner",
          {},
          {},
          {"Symmetric Gaussian (Wigner) matrix.", "W = W^T, W[i][j] ~ N(0, 1/n) for i <= j",
           "Wigner 1955, Characteristic vectors of bordered matrices with infinite dimensions"},
          [](const torchinit::Args&) { return std::make_shared<Wigner>(); }};
}

// ---- the tests (the examples above need nothing below) ----

#include <ATen/Context.h>
#include <ATen/ops/empty.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/init.h"
#include "torchinit/shard.h"

namespace {

using torchinit::testutil::ContainsAll;
using torchinit::testutil::same_bytes;

// Registers small_init and wigner once per process (the registry is global and has no removal).
void register_small_init_once() {
  static const bool registered = [] {
    torchinit::Registry::global().add(small_init_entry());
    torchinit::Registry::global().add(wigner_entry());
    return true;
  }();
  (void)registered;
}

// The lines of a file with their indentation and trailing blanks removed.
std::vector<std::string> trimmed_lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    const size_t b = line.find_first_not_of(" \t");
    const size_t e = line.find_last_not_of(" \t\r");
    lines.push_back(b == std::string::npos ? "" : line.substr(b, e - b + 1));
  }
  return lines;
}

TEST(AddingAnInitializer, DocShowsThisFilesCode) {
  const std::string root = torchinit::testutil::source_dir();
  const std::string doc_path = root + "/docs/adding-an-initializer.md";
  const auto doc = trimmed_lines_of(doc_path);
  const auto self = trimmed_lines_of(root + "/test/initializers/adding_an_initializer_test.cpp");
  ASSERT_FALSE(doc.empty()) << doc_path;
  ASSERT_FALSE(self.empty());
  std::vector<std::vector<std::string>> blocks;
  bool inside = false;
  for (const std::string& line : doc) {
    if (!inside && line == "```cpp") {
      inside = true;
      blocks.emplace_back();
    } else if (inside && line == "```") {
      inside = false;
    } else if (inside) {
      blocks.back().push_back(line);
    }
  }
  EXPECT_FALSE(inside) << doc_path << " has an unclosed code block";
  // The example, its registration line and its use.
  ASSERT_GE(blocks.size(), 3u) << doc_path;
  for (size_t i = 0; i < blocks.size(); ++i) {
    ASSERT_FALSE(blocks[i].empty()) << "code block " << i + 1 << " of " << doc_path;
    EXPECT_NE(std::search(self.begin(), self.end(), blocks[i].begin(), blocks[i].end()), self.end())
        << "code block " << i + 1 << " of " << doc_path
        << " is not a verbatim excerpt of this test; it starts with: " << blocks[i][0];
  }
}

TEST(AddingAnInitializer, UsableByNameThroughInitTheoryAndCheck) {
  register_small_init_once();
  at::Tensor w = at::empty({512, 256});
  torchinit::init_(w, "small_init", torchinit::InitOptions().seed(7).key("fc1.weight"));
  torchinit::Distribution d = torchinit::theory("small_init", w.sizes());  // N(0, 2/(5·256))
  torchinit::CheckResult r = torchinit::check(w, d);                       // r.passed()

  EXPECT_EQ(d.family(), "normal");
  EXPECT_DOUBLE_EQ(d.std(), std::sqrt(2.0 / (5.0 * 256)));
  EXPECT_TRUE(r.passed()) << r.summary();
  // The check can tell: a std 10% too large is rejected.
  EXPECT_FALSE(torchinit::check(w, torchinit::Distribution::normal(0, 1.1 * d.std())).passed());
  // The registry knows its docs; the LibTorch backend follows the same theory.
  EXPECT_EQ(torchinit::Registry::global().find("small_init")->doc.formula,
            "N(0, s^2), s = sqrt(2/(5·fan_in))");
  at::manual_seed(11);
  const at::Tensor t = at::empty({512, 256});
  torchinit::init_(t, "small_init", torchinit::InitOptions().backend(torchinit::Backend::Torch));
  EXPECT_TRUE(torchinit::check(t, d).passed());
  // validate() runs first: a 1-D tensor is an error naming the initializer, and stays unchanged.
  const at::Tensor v = at::empty({16});
  torchinit::testutil::fill_pattern_(v);
  const at::Tensor before = v.clone();
  EXPECT_TRUE(ContainsAll(torchinit::testutil::error_of([&] { torchinit::init_(v, "small_init"); }),
                          {"small_init", "[16]"}));
  EXPECT_TRUE(same_bytes(v, before));
}

TEST(AddingAnInitializer, ShardsHoldTheBytesOfTheFullInit) {
  register_small_init_once();
  at::Tensor w = at::empty({512, 256});
  torchinit::init_(w, "small_init", torchinit::InitOptions().seed(7).key("fc1.weight"));
  // Rows [128, 256) of the same parameter, computed alone (as one rank of a sharded model):
  at::Tensor shard = at::empty({128, 256});
  torchinit::init_shard_(shard, "small_init", {512, 256}, torchinit::Slice::rows(128, 256),
                         torchinit::InitOptions().seed(7).key("fc1.weight"));
  EXPECT_TRUE(same_bytes(shard, w.narrow(0, 128, 128)));

  // Columns and flat ranges (uneven, odd-sized), in float32 and float64.
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    SCOPED_TRACE(c10::toString(dtype));
    const auto o = torchinit::InitOptions().seed(3).key("mlp.fc2.weight");
    const at::Tensor full = at::empty({96, 70}, at::TensorOptions().dtype(dtype));
    torchinit::init_(full, "small_init", o);
    at::Tensor cols = at::empty({96, 29}, full.options());
    torchinit::init_shard_(cols, "small_init", {96, 70}, torchinit::Slice::cols(17, 46), o);
    EXPECT_TRUE(same_bytes(cols, full.narrow(1, 17, 29)));
    at::Tensor flat = at::empty({4001}, full.options());
    torchinit::init_shard_(flat, "small_init", {96, 70}, torchinit::Slice::flat(1333, 5334), o);
    EXPECT_TRUE(same_bytes(flat, full.reshape({-1}).narrow(0, 1333, 4001)));
  }
}

TEST(AddingAStructuredInitializer, CheckVerifiesItsStructure) {
  register_small_init_once();
  at::Tensor w = at::empty({256, 256});
  torchinit::init_(w, "wigner", torchinit::InitOptions().seed(7).key("attn.weight"));
  const torchinit::Distribution d = torchinit::theory("wigner", w.sizes());
  const torchinit::CheckResult r = torchinit::check(w, d);  // symmetric, N(0, 1/256) entries

  EXPECT_EQ(d.family(), "wigner");
  EXPECT_DOUBLE_EQ(d.std(), 1.0 / 16);
  EXPECT_TRUE(w.equal(w.t()));
  EXPECT_TRUE(r.passed()) << r.summary();
  EXPECT_TRUE(r.find("exact") != nullptr && r.find("ks") != nullptr) << r.summary();
  // What the marginal alone cannot see: a N(0, 1/256) matrix that is not symmetric fails.
  at::Tensor plain = at::empty({256, 256});
  torchinit::init_(plain, "normal(std=0.0625)", torchinit::InitOptions().seed(7));
  EXPECT_TRUE(torchinit::check(plain, torchinit::Distribution::normal(0, 0.0625)).passed());
  const torchinit::CheckResult asymmetric = torchinit::check(plain, d);
  EXPECT_FALSE(asymmetric.passed());
  EXPECT_FALSE(asymmetric.find("exact")->passed) << asymmetric.summary();
  // And a symmetric matrix with a 10% larger std fails its marginal tests.
  const at::Tensor wide = w * 1.1;
  const torchinit::CheckResult too_wide = torchinit::check(wide, d);
  EXPECT_FALSE(too_wide.passed());
  EXPECT_TRUE(too_wide.find("exact")->passed) << too_wide.summary();
  // The LibTorch backend keeps the promise too.
  at::manual_seed(3);
  at::Tensor t = at::empty({256, 256});
  torchinit::init_(t, "wigner", torchinit::InitOptions().backend(torchinit::Backend::Torch));
  EXPECT_TRUE(torchinit::check(t, d).passed());
}

TEST(AddingAStructuredInitializer, ShardsAndErrors) {
  register_small_init_once();
  const auto o = torchinit::InitOptions().seed(5).key("w");
  at::Tensor full = at::empty({96, 96}, at::kDouble);
  torchinit::init_(full, "wigner", o);
  at::Tensor rows = at::empty({40, 96}, at::kDouble);
  torchinit::init_shard_(rows, "wigner", {96, 96}, torchinit::Slice::rows(30, 70), o);
  EXPECT_TRUE(same_bytes(rows, full.narrow(0, 30, 40)));
  // A structure promised on a structured marginal, or a null one, is an error.
  EXPECT_TRUE(ContainsAll(torchinit::testutil::error_of([] {
                            torchinit::Distribution::orthogonal(4, 4, 1).with_structure(
                                std::make_shared<Symmetric>(4), "symmetric_orthogonal");
                          }),
                          {"with_structure", "orthogonal", "already has a structure"}));
  EXPECT_TRUE(ContainsAll(torchinit::testutil::error_of([] {
                            torchinit::Distribution::normal(0, 1).with_structure(nullptr, "x");
                          }),
                          {"with_structure", "null"}));
  // validate() runs first: a non-square weight is an error, the tensor unchanged.
  const at::Tensor v = at::empty({16, 8});
  torchinit::testutil::fill_pattern_(v);
  const at::Tensor before = v.clone();
  EXPECT_TRUE(ContainsAll(torchinit::testutil::error_of([&] { torchinit::init_(v, "wigner"); }),
                          {"wigner needs a square 2-D weight", "[16, 8]"}));
  EXPECT_TRUE(same_bytes(v, before));
}

// An element-wise initializer that records which elements it was asked for: U(0, 1) values.
class ElementRangeRecorder final : public torchinit::ElementwiseInitializer {
 public:
  torchinit::Distribution theory(const torchinit::ParamInfo&) const override {
    return torchinit::Distribution::uniform(0, 1);
  }
  torchinit::ElementFill element_fill(const torchinit::ParamInfo&) const override {
    return [this](auto* out, int64_t first, int64_t count, const torchinit::Stream& s) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        asked_.push_back({first, count});
      }
      torchinit::fill_uniform(out, first, count, s, 0.0, 1.0);
    };
  }
  void fill_torch(at::Tensor& t, const torchinit::ParamInfo&) const override { t.uniform_(0, 1); }

  // The element ranges asked for since the last call, sorted, adjacent ones merged.
  std::vector<torchinit::ElementRun> take_asked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<torchinit::ElementRun> asked;
    asked.swap(asked_);
    std::sort(asked.begin(), asked.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<torchinit::ElementRun> merged;
    for (const auto& r : asked) {
      if (!merged.empty() && merged.back().first + merged.back().count == r.first) {
        merged.back().count += r.count;
      } else {
        merged.push_back(r);
      }
    }
    return merged;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<torchinit::ElementRun> asked_;
};

// "N runs, M elements: [a, b) [c, d) [e, f) …" (the first three runs).
std::string runs_summary(const std::vector<torchinit::ElementRun>& runs) {
  int64_t elements = 0;
  std::string first_runs;
  for (size_t i = 0; i < runs.size(); ++i) {
    elements += runs[i].count;
    if (i < 3) {
      first_runs += " [" + std::to_string(runs[i].first) + ", " +
                    std::to_string(runs[i].first + runs[i].count) + ")";
    }
  }
  return std::to_string(runs.size()) + " runs, " + std::to_string(elements) +
         " elements:" + first_runs + (runs.size() > 3 ? " …" : "");
}

bool same_runs(const std::vector<torchinit::ElementRun>& a,
               const std::vector<torchinit::ElementRun>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && x.count == y.count;
  });
}

TEST(ElementwiseInitializer, ShardFillComputesOnlyTheShardsElements) {
  // 300 x 400: 120000 elements, several parallel chunks; columns [150, 250): 300 runs of 100.
  const ElementRangeRecorder init;
  const auto full_info = torchinit::ParamInfo::from_shape({300, 400}, "w");
  const auto o = torchinit::InitOptions().seed(5).key("w");
  const at::Tensor full = at::empty({300, 400});
  torchinit::init_(full, init, full_info, o);
  const std::vector<torchinit::ElementRun> whole = {{0, 300 * 400}};
  const auto asked_full = init.take_asked();
  EXPECT_TRUE(same_runs(asked_full, whole)) << "asked for " << runs_summary(asked_full);

  const torchinit::Slice slice = torchinit::Slice::cols(150, 250);
  const at::Tensor shard = at::empty({300, 100});
  torchinit::init_shard_(shard, init, full_info, slice, o);
  const auto asked_shard = init.take_asked();
  const auto runs = slice.runs({300, 400});
  EXPECT_TRUE(same_runs(asked_shard, runs))
      << "asked for " << runs_summary(asked_shard) << "; the shard is " << runs_summary(runs);
  EXPECT_TRUE(same_bytes(shard, full.narrow(1, 150, 100)));
}

}  // namespace
