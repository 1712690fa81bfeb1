// Pinned determinism: SHA-256 of the bytes of every registered initializer for a fixed
// (seed, key, shape) in float32 and float64, and of Plan::apply on every model spec of the model
// registry with presets, compared with the digests committed in test/golden/*.txt, at 1, 2 and
// 4 threads, on every ISA path of the fill kernels this CPU has, and (for initializers) when the
// tensor is filled shard by shard with init_shard_. A changed digest is a breaking change
// (docs/determinism.md, "Determinism policy").
//
// The same files serve every LibTorch (Debian's 1.13, upstream 2.x): the Philox families must
// give the same bytes on all. Only the QR-based cases (orthogonal and delta_orthogonal
// structures) depend on the LAPACK doing the QR, so their keys name it: `| lapack=openblas`
// (Debian) or `| lapack=mkl-cbwr-compatible` (upstream LibTorch links MKL; run with
// MKL_CBWR=COMPATIBLE, as the golden test does). OpenBLAS too picks its kernels per CPU, and the
// bytes follow them: `lapack=openblas` means OpenBLAS's Haswell kernels (OPENBLAS_CORETYPE=Haswell,
// which ctest sets; every x86-64 CPU with AVX2 runs them). Writing keeps the other LAPACK's
// entries.
//
// Regenerate after an intended change of bytes:  TORCHINIT_GOLDEN_WRITE=1 ctest -R golden
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/functional/instancenorm.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "golden/sha256.h"
#include "test_util.h"
#include "torchinit/init.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/registry.h"
#include "torchinit/plan.h"
#include "torchinit/random.h"
#include "torchinit/registry.h"
#include "torchinit/shard.h"

namespace {

using torchinit::testutil::Sha256;
using Digests = std::map<std::string, std::string>;  // case -> sha256

std::string golden_path(const std::string& file) {
  return torchinit::testutil::source_dir() + "/test/golden/" + file;
}

bool write_mode() {
  const char* w = std::getenv("TORCHINIT_GOLDEN_WRITE");
  return w && std::string(w) == "1";
}

// Digest of a tensor's logical bytes (row-major, contiguous), prefixed by dtype and shape.
void hash_tensor(Sha256& h, const at::Tensor& t) {
  const at::Tensor c = t.detach().contiguous();
  h.update(std::string(c10::toString(c.scalar_type())));
  for (int64_t s : c.sizes()) h.update(std::to_string(s) + ",");
  h.update(c.data_ptr(), size_t(c.numel()) * c.element_size());
}

// The LAPACK LibTorch loaded, as named in golden keys; "" when unknown.
std::string lapack_key() {
  if (dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads")) {
    const char* cbwr = std::getenv("MKL_CBWR");
    return cbwr && std::string(cbwr) == "COMPATIBLE" ? "mkl-cbwr-compatible" : "mkl";
  }
  if (dlsym(RTLD_DEFAULT, "openblas_get_config")) return "openblas";
  return "";
}

// The OpenBLAS kernels the QR-based `lapack=openblas` digests are taken with.
const std::string kOpenBlasCore = "Haswell";

// The kernels OpenBLAS picked (openblas_get_corename), "" without OpenBLAS.
std::string openblas_core() {
  using CoreName = char* (*)();
  const auto corename = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return corename ? std::string(corename()) : "";
}

// QR-based bytes (what the structure is, not the spec's name): they depend on the LAPACK.
bool uses_qr(const torchinit::Distribution& d) {
  return std::holds_alternative<torchinit::structure::Orthogonal>(d.typed_structure()) ||
         std::holds_alternative<torchinit::structure::DeltaOrthogonal>(d.typed_structure());
}

const std::string kLapackSuffix = " | lapack=";

std::string with_lapack(std::string key, bool qr) {
  return qr ? key + kLapackSuffix + lapack_key() : key;
}

const std::map<std::string, std::string>& required_values() {
  static const std::map<std::string, std::string> v = {
      {"val", "0.5"}, {"sparsity", "0.5"}, {"layers", "4"}, {"t_max", "10"}};
  return v;
}

// Every registered initializer with its default arguments (required ones from the table), plus
// argument choices that take other code paths.
std::vector<std::string> golden_specs() {
  std::vector<std::string> out;
  for (const std::string& name : torchinit::Registry::global().names()) {
    if (name.rfind("test_", 0) == 0) continue;
    std::string args;
    const auto entry = torchinit::Registry::global().find(name);
    for (const auto& a : entry->args)
      if (!a.default_value)
        args += (args.empty() ? "" : ", ") + a.name + "=" + required_values().at(a.name);
    out.push_back(args.empty() ? name : name + "(" + args + ")");
  }
  for (const char* s :
       {"trunc_normal(std=0.02, a=-0.04, b=0.04)", "sparse(sparsity=0.9)",
        "kaiming_normal(mode=fan_out, nonlinearity=relu)", "variance_scaling(distribution=uniform)",
        "variance_scaling(distribution=normal, mode=fan_avg)", "dirac(groups=2)",
        "orthogonal(gain=relu)", "uniform(a=-3, b=5)", "normal(mean=1, std=3)"})
    out.push_back(s);
  return out;
}

std::vector<int64_t> golden_shape(const std::string& spec) {
  for (const std::vector<int64_t>& s :
       std::vector<std::vector<int64_t>>{{96, 80}, {16, 8, 3, 3}, {64}}) {
    try {
      (void)torchinit::theory(spec, s);
      return s;
    } catch (const c10::Error&) {
    }
  }
  return {};
}

// How the golden tensor is filled: whole, or in uneven shards along dim 0 or dim 1 (each shard
// its own tensor, filled by init_shard_ and copied into place).
enum class Fill { Whole, RowShards, ColShards };

// Uneven cut points of [0, n) into 3 pieces (some empty when n < 3).
std::vector<int64_t> cuts(int64_t n) { return {0, n / 5, n / 5 + (n + 1) / 2, n}; }

at::Tensor golden_tensor(const std::string& spec, const std::vector<int64_t>& shape,
                         at::ScalarType dtype, Fill fill) {
  const auto options = torchinit::InitOptions().seed(20261129).key("golden.weight");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  if (fill == Fill::Whole) return torchinit::init_(t, spec, options);
  const int64_t d = fill == Fill::RowShards ? 0 : 1;
  const auto c = cuts(shape[size_t(d)]);
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    at::Tensor shard = at::empty(t.narrow(d, c[i], c[i + 1] - c[i]).sizes(), t.options());
    torchinit::init_shard_(shard, spec, shape, torchinit::Slice::dim(d, c[i], c[i + 1]), options);
    t.narrow(d, c[i], c[i + 1] - c[i]).copy_(shard);
  }
  return t;
}

Digests initializer_digests_filled(Fill fill) {
  Digests out;
  for (const std::string& spec : golden_specs()) {
    const auto shape = golden_shape(spec);
    EXPECT_FALSE(shape.empty()) << spec;
    if (fill == Fill::ColShards && shape.size() < 2) continue;
    for (auto dtype : {at::kFloat, at::kDouble}) {
      const at::Tensor t = golden_tensor(spec, shape, dtype, fill);
      Sha256 h;
      hash_tensor(h, t);
      std::ostringstream name;
      name << spec << " | " << c10::toString(dtype) << " | seed=20261129 key=golden.weight";
      out[with_lapack(name.str(), uses_qr(torchinit::theory(spec, shape)))] = h.hex();
    }
  }
  return out;
}
Digests initializer_digests() { return initializer_digests_filled(Fill::Whole); }

// Presets for each model: torch_default everywhere, plus the one written for the family.
// A Transformer preset with its layers, written as the key shows it: "olmo_mitchell(layers=2)".
std::vector<std::string> presets_for(const std::string& model) {
  if (model == "resnet") return {"torch_default", "resnet", "he"};
  if (model == "lstm" || model == "gru" || model == "rnn")
    return {"torch_default", "orthogonal_rnn"};
  if (model == "mlp") return {"torch_default", "he", "xavier", "lecun_selu"};
  if (model == "gpt" || model == "vit") {
    return {"torch_default",      "he",
            "gpt2(layers=2)",     "megatron_depth(layers=2)",
            "gpt_neox(layers=2)", "olmo_mitchell(layers=2)"};
  }
  return {"torch_default", "he"};
}

torchinit::Plan preset_of(const std::string& text) {
  const auto open = text.find("(layers=");
  if (open == std::string::npos) return torchinit::Plan::preset(text);
  return torchinit::Plan::preset(text.substr(0, open), std::stoll(text.substr(open + 8)));
}

Digests model_digests() {
  Digests out;
  for (const auto& entry : torchinit::nn::ModelRegistry::global().entries()) {
    if (entry.name.rfind("test_", 0) == 0) continue;  // registered by other tests
    for (const std::string& preset : presets_for(entry.name)) {
      auto net = torchinit::nn::make(entry.example);
      const torchinit::Report report =
          preset_of(preset).apply(net, torchinit::ApplyOptions().seed(7));
      bool qr = false;
      for (const auto& row : report.rows()) qr = qr || uses_qr(row.theory);
      Sha256 h;
      for (const auto& p : net.ptr()->named_parameters()) {
        h.update(p.key());
        hash_tensor(h, p.value());
      }
      out[with_lapack(entry.example + " | preset " + preset + " | seed=7", qr)] = h.hex();
    }
  }
  return out;
}

Digests read_digests(const std::string& path) {
  Digests out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto bar = line.rfind(" = ");
    if (bar == std::string::npos) continue;
    out[line.substr(0, bar)] = line.substr(bar + 3);
  }
  return out;
}

// Entries of another LAPACK are neither computed nor compared here.
bool other_lapack(const std::string& key) {
  const auto at = key.rfind(kLapackSuffix);
  return at != std::string::npos && key.substr(at + kLapackSuffix.size()) != lapack_key();
}

// The committed digests that this build computes (without other LAPACKs' entries).
Digests read_golden(const std::string& file) {
  Digests out = read_digests(golden_path(file));
  for (auto it = out.begin(); it != out.end();)
    it = other_lapack(it->first) ? out.erase(it) : std::next(it);
  return out;
}

void write_digests(const std::string& path, const Digests& d, const std::string& what) {
  std::ofstream out(path);
  out << "# SHA-256 of " << what << ".\n"
      << "# Generated by TORCHINIT_GOLDEN_WRITE=1 ctest -R golden; a change is a breaking change\n"
      << "# (version bump and changelog entry, see docs/determinism.md, determinism policy).\n";
  for (const auto& [k, v] : d) out << k << " = " << v << "\n";
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// Computes the digests at 1, 2 and 4 threads and on every other ISA path the CPU has: they must
// agree with each other and with the file.
void compare_with_golden(const std::string& file, const std::string& what, Digests (*compute)()) {
  const int saved = at::get_num_threads();
  std::map<int, Digests> by_threads;
  for (int threads : {1, 2, 4}) {
    at::set_num_threads(threads);
    by_threads[threads] = compute();
  }
  const Digests& one = by_threads[1];
  ASSERT_FALSE(one.empty());
  for (const auto& [threads, d] : by_threads)
    EXPECT_EQ(d, one) << "bytes differ between 1 and " << threads << " threads";
  const torchinit::Isa widest = torchinit::active_isa();
  at::set_num_threads(2);
  for (auto isa : {torchinit::Isa::Scalar, torchinit::Isa::Avx2, torchinit::Isa::Avx512}) {
    if (isa == widest || !torchinit::isa_supported(isa)) continue;
    torchinit::force_isa(isa);
    EXPECT_EQ(compute(), one) << "bytes differ between ISA paths " << torchinit::isa_name(widest)
                              << " and " << torchinit::isa_name(isa) << " (2 threads)";
  }
  torchinit::force_isa(widest);
  at::set_num_threads(saved);
  const std::string path = golden_path(file);
  ASSERT_FALSE(lapack_key().empty())
      << "LibTorch's LAPACK is neither OpenBLAS nor MKL: the QR-based golden cases have no key";
  ASSERT_EQ(openblas_core(), lapack_key() == "openblas" ? kOpenBlasCore : "")
      << "OpenBLAS picked its " << openblas_core() << " kernels for this CPU: run with "
      << "OPENBLAS_CORETYPE=" << kOpenBlasCore << " (the QR-based bytes follow OpenBLAS's "
      << "kernels); ctest sets it for the golden test";
  ASSERT_NE(lapack_key(), "mkl")
      << "LibTorch uses MKL: run with MKL_CBWR=COMPATIBLE (MKL's code path, and so the bytes of "
         "its QR, otherwise depend on the CPU); ctest sets it for the golden test";
  if (write_mode()) {
    const Digests golden = read_digests(path);
    Digests merged = one;
    for (const auto& [k, v] : golden)
      if (other_lapack(k)) merged[k] = v;
    write_digests(path, merged, what);
    std::cout << "wrote " << one.size() << " digests (and kept " << merged.size() - one.size()
              << " of other LAPACKs) to " << path << "\n";
    return;
  }
  const Digests golden = read_golden(file);
  ASSERT_FALSE(golden.empty()) << "no digests in " << path
                               << "; generate them with TORCHINIT_GOLDEN_WRITE=1 ctest -R golden";
  for (const auto& [k, v] : one) {
    const auto it = golden.find(k);
    if (it == golden.end()) {
      ADD_FAILURE() << "no golden digest for '" << k << "' in " << file
                    << "; a new case: regenerate with TORCHINIT_GOLDEN_WRITE=1 ctest -R golden";
    } else {
      EXPECT_EQ(v, it->second) << "bytes changed for '" << k
                               << "': a breaking change (version bump + changelog entry, then "
                                  "TORCHINIT_GOLDEN_WRITE=1 ctest -R golden)";
    }
  }
  for (const auto& [k, v] : golden)
    EXPECT_TRUE(one.count(k)) << "golden case '" << k << "' is no longer computed; regenerate";
}

TEST(GoldenSha256, KnownAnswers) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(torchinit::testutil::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(torchinit::testutil::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      torchinit::testutil::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // one million 'a', fed in uneven pieces
  const std::string chunk(999, 'a');
  for (int i = 0; i < 1001; ++i) h.update(chunk.data(), 999);
  h.update(std::string(1, 'a'));
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(GoldenSha256, InitializersFloat32AndFloat64) {
  compare_with_golden("initializers.txt",
                      "init_ bytes per (spec, dtype) on the shape [96, 80], [16, 8, 3, 3] or [64]",
                      &initializer_digests);
}

TEST(GoldenSha256, InitializersInShardsHaveTheGoldenBytes) {
  const Digests golden = read_golden("initializers.txt");
  ASSERT_FALSE(golden.empty());
  for (Fill fill : {Fill::RowShards, Fill::ColShards}) {
    const Digests sharded = initializer_digests_filled(fill);
    EXPECT_GE(sharded.size(), fill == Fill::RowShards ? golden.size() : golden.size() / 2);
    for (const auto& [k, v] : sharded) {
      ASSERT_TRUE(golden.count(k)) << k;
      EXPECT_EQ(v, golden.at(k)) << "init_shard_ in " << (fill == Fill::RowShards ? "row" : "col")
                                 << " shards differs from the golden bytes for '" << k << "'";
    }
  }
}

TEST(GoldenSha256, PlanApplyOnEveryModelSpec) {
  compare_with_golden("models.txt", "Plan::apply(preset) parameters of each model's example spec",
                      &model_digests);
}

// One module of every layout LibTorch has, in one tree, with a weight tied to the embedding. The
// Python twin (test/python/test_layouts.py, LayoutZoo) must give the same bytes per child.
struct LayoutZooImpl : torch::nn::Module {
  LayoutZooImpl() {
    namespace tnn = torch::nn;
    register_module("lin", tnn::Linear(6, 5));
    register_module("bil", tnn::Bilinear(3, 4, 5));
    register_module("c1", tnn::Conv1d(tnn::Conv1dOptions(4, 6, 3).groups(2)));
    register_module("c3", tnn::Conv3d(2, 4, 2));
    register_module("ct1", tnn::ConvTranspose1d(4, 6, 3));
    register_module("ct2", tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(8, 16, 3).groups(2)));
    register_module("emb", emb);
    register_module("bag", tnn::EmbeddingBag(12, 4));
    register_module("bn", tnn::BatchNorm2d(5));
    register_module("inorm", tnn::InstanceNorm2d(tnn::InstanceNorm2dOptions(5).affine(true)));
    register_module("ln", tnn::LayerNorm(tnn::LayerNormOptions({6})));
    register_module("gn", tnn::GroupNorm(2, 6));
    register_module("prelu", tnn::PReLU(tnn::PReLUOptions().num_parameters(3)));
    register_module("rnn", tnn::RNN(tnn::RNNOptions(4, 8).num_layers(2)));
    register_module(
        "lstm", tnn::LSTM(tnn::LSTMOptions(4, 8).num_layers(2).bidirectional(true).proj_size(3)));
    register_module("gru", tnn::GRU(tnn::GRUOptions(4, 8).bidirectional(true)));
    register_module("rcell", tnn::RNNCell(4, 8));
    register_module("lcell", tnn::LSTMCell(4, 8));
    register_module("gcell", tnn::GRUCell(4, 8));
    register_module("mha", tnn::MultiheadAttention(16, 4));
    register_module("mha_kv",
                    tnn::MultiheadAttention(
                        tnn::MultiheadAttentionOptions(16, 4).kdim(6).vdim(10).add_bias_kv(true)));
    register_module("mha_nb",
                    tnn::MultiheadAttention(tnn::MultiheadAttentionOptions(8, 2).bias(false)));
    register_module("dec", dec);
    torch::NoGradGuard no_grad;
    dec->weight.set_data(emb->weight);  // tied, as LibTorch C++ code ties weights
  }
  torch::nn::Embedding emb{torch::nn::EmbeddingOptions(10, 4).padding_idx(3)};
  torch::nn::Linear dec{torch::nn::LinearOptions(4, 10).bias(false)};
};
TORCH_MODULE(LayoutZoo);

// Plan::apply on the zoo, one digest per child (so a failure names the layout): the child's
// parameter paths, dtype, sizes and bytes in named_parameters order.
Digests layout_digests() {
  Digests out;
  for (const auto& [preset, layers] : std::vector<std::pair<std::string, int64_t>>{
           {"torch_default", 0}, {"he", 0}, {"xavier", 0}, {"gpt2", 2}}) {
    LayoutZoo zoo;
    // Non-strict: the tied dec.weight keeps emb.weight's rule.
    const torchinit::Report report =
        torchinit::Plan::preset(preset, layers)
            .apply(*zoo, torchinit::ApplyOptions().seed(7).strict(false));
    for (const auto& child : zoo->named_children()) {
      const std::string prefix = child.key() + ".";
      bool qr = false;
      for (const auto& row : report.rows())
        if (row.path.rfind(prefix, 0) == 0) qr = qr || uses_qr(row.theory);
      Sha256 h;
      for (const auto& p : zoo->named_parameters()) {
        if (p.key().rfind(prefix, 0) != 0) continue;
        h.update(p.key());
        hash_tensor(h, p.value());
      }
      const std::string name = layers ? preset + "(layers=" + std::to_string(layers) + ")" : preset;
      out[with_lapack("zoo." + child.key() + " | preset " + name + " | seed=7", qr)] = h.hex();
    }
  }
  return out;
}

TEST(GoldenSha256, PlanApplyOnEveryLayout) {
  compare_with_golden("layouts.txt", "Plan::apply(preset) parameters of each layout zoo child",
                      &layout_digests);
}

}  // namespace
