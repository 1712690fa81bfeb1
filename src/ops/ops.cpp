// torchinit as a LibTorch op library (`torchinit_ops`): PyTorch loads it with
// torch.ops.load_library and calls torch.ops.torchinit.<op> like a built-in. Each op calls the
// C++ API, so Python gets the C++ bytes. Structured results cross the op boundary as JSON; the
// Python package (python/torchinit) turns them into objects.
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/explain.h"
#include "torchinit/init.h"
#include "torchinit/merged_check.h"
#include "torchinit/plan.h"
#include "torchinit/plan_params.h"
#include "torchinit/shard.h"

namespace {

// A seed from Python: None draws one from torch's default generator, as in C++.
std::optional<uint64_t> seed_of(c10::optional<int64_t> seed, const char* who) {
  if (!seed) return std::nullopt;
  TORCH_CHECK(*seed >= 0, who, ": seed must be >= 0, got ", *seed,
              "; pass None to draw one from torch's default generator");
  return static_cast<uint64_t>(*seed);
}

// backend="philox" (torchinit's streams) or "torch" (LibTorch's generator and
// torch.nn.init's arithmetic: equal to torch.nn.init under the same torch.manual_seed).
torchinit::Backend backend_of(const std::string& backend, const char* who) {
  if (backend == "philox") return torchinit::Backend::Philox;
  TORCH_CHECK(backend == "torch", who,
              ": backend must be \"philox\" (torchinit's streams, the default) or ",
              "\"torch\" (torch.nn.init's generator and arithmetic), got \"", backend, "\"");
  return torchinit::Backend::Torch;
}

// init_(Tensor(a!) self, str spec, int? seed=None, str key="", str backend="philox")
// -> Tensor(a!)
at::Tensor init_op(at::Tensor self, std::string spec, c10::optional<int64_t> seed, std::string key,
                   std::string backend) {
  torchinit::init_(self, spec,
                   torchinit::InitOptions()
                       .seed(seed_of(seed, "torchinit.init_"))
                       .key(key)
                       .backend(backend_of(backend, "torchinit.init_")));
  return self;
}

// The Slice that the Python package encodes as `slice` (and `flat`): [begin, end] of the
// flattened parameter when flat, else [dim, begin, end] triples: none = the whole parameter, one
// = that dim's range, several = the leading dims in order (a box).
torchinit::Slice slice_of(const std::vector<int64_t>& s, bool flat) {
  constexpr const char* who = "torchinit.init_shard_: ";
  if (flat) {
    TORCH_CHECK(s.size() == 2, who, "a flat slice is [begin, end], got ", s.size(), " numbers");
    return torchinit::Slice::flat(s[0], s[1]);
  }
  TORCH_CHECK(s.size() % 3 == 0, who, "slice must be [dim, begin, end] triples, got ", s.size(),
              " numbers; use torchinit.Slice.rows/cols/dim/box/flat/all");
  if (s.empty()) return torchinit::Slice::all();
  if (s.size() == 3) return torchinit::Slice::dim(s[0], s[1], s[2]);
  std::vector<std::pair<int64_t, int64_t>> box;
  for (size_t i = 0; i < s.size(); i += 3) {
    TORCH_CHECK(s[i] == static_cast<int64_t>(i / 3), who,
                "a slice over several dims must give dims 0, 1, … in order (a box); got dim ", s[i],
                " in place ", i / 3);
    box.emplace_back(s[i + 1], s[i + 2]);
  }
  return torchinit::Slice::box(std::move(box));
}

// init_shard_(Tensor(a!) shard, str spec, int[] full_shape, int[] slice=[], bool flat=False,
// int? seed=None, str key="") -> Tensor(a!)
at::Tensor init_shard_op(at::Tensor shard, std::string spec, std::vector<int64_t> full_shape,
                         std::vector<int64_t> slice, bool flat, c10::optional<int64_t> seed,
                         std::string key) {
  torchinit::init_shard_(
      shard, spec, full_shape, slice_of(slice, flat),
      torchinit::InitOptions().seed(seed_of(seed, "torchinit.init_shard_")).key(key));
  return shard;
}

// Meta kernel of init_shard_: the slice against the full shape, the shard's shape against the
// slice and the spec against the full shape, without data.
at::Tensor init_shard_meta(at::Tensor shard, std::string spec, std::vector<int64_t> full_shape,
                           std::vector<int64_t> slice, bool flat, c10::optional<int64_t>,
                           std::string) {
  const torchinit::Slice s = slice_of(slice, flat);
  const auto want = s.shard_shape(full_shape, "torchinit.init_shard_");
  TORCH_CHECK(flat ? shard.numel() == want[0] : shard.sizes().vec() == want,
              "torchinit.init_shard_: ", s.str(), " of ", c10::IntArrayRef(full_shape),
              " is a shard of shape ", c10::IntArrayRef(want), ", got ", shard.sizes());
  (void)torchinit::theory(spec, full_shape);
  return shard;
}

// Meta (and FakeTensor) kernel of init_: no data, so tracing tools see the op; the spec is
// still validated against the shape.
at::Tensor init_meta(at::Tensor self, std::string spec, c10::optional<int64_t>, std::string,
                     std::string backend) {
  (void)backend_of(backend, "torchinit.init_");
  (void)torchinit::theory(spec, self.sizes());
  return self;
}

nlohmann::json number(double x) {
  return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x);
}

// theory(str spec, int[] shape) -> str: the distribution as JSON.
std::string theory_op(std::string spec, std::vector<int64_t> shape) {
  const torchinit::Distribution d = torchinit::theory(spec, shape);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : d.params()) params[name] = number(value);
  return nlohmann::json{{"family", d.family()},     {"text", d.str()},
                        {"mean", number(d.mean())}, {"variance", number(d.variance())},
                        {"std", number(d.std())},   {"params", params}}
      .dump();
}

// check(Tensor self, str spec, float alpha=1e-6) -> str: the CheckResult as JSON.
std::string check_op(const at::Tensor& self, std::string spec, double alpha) {
  return torchinit::check(self, spec, torchinit::CheckOptions().alpha(alpha)).json();
}

// The plan of a plan op: rule text or JSON, or a preset's name (its rules keep their C++ text,
// so errors read as in C++).
torchinit::Plan plan_of(const std::string& plan, const std::string& preset, int64_t layers) {
  TORCH_CHECK(plan.empty() != preset.empty(),
              "torchinit.Plan: give either rules (text or JSON) or a preset name, not ",
              plan.empty() ? "neither" : "both");
  return preset.empty() ? torchinit::Plan::parse(plan) : torchinit::Plan::preset(preset, layers);
}

torchinit::ApplyOptions apply_options(c10::optional<int64_t> seed, bool strict,
                                      const std::string& backend = "philox") {
  return torchinit::ApplyOptions()
      .strict(strict)
      .seed(seed_of(seed, "torchinit.Plan.apply"))
      .backend(backend_of(backend, "torchinit.Plan.apply"));
}

std::string report_json(const torchinit::Report& report) {
  return nlohmann::json{{"report", nlohmann::json::parse(report.json())}, {"table", report.table()}}
      .dump();
}

// plan_parse(str plan, str preset="", int layers=0) -> str: the validated plan as JSON.
std::string plan_parse_op(std::string plan, std::string preset, int64_t layers) {
  return plan_of(plan, preset, layers).json();
}

// plan_explain(Tensor[] params, str modules, str plan, str preset, int layers, bool strict)
std::string plan_explain_op(std::vector<at::Tensor> params, std::string modules, std::string plan,
                            std::string preset, int64_t layers, bool strict) {
  return report_json(torchinit::explain_params(plan_of(plan, preset, layers),
                                               torchinit::params_from_json(modules, params),
                                               apply_options(c10::nullopt, strict)));
}

// The ShardMap that Plan.apply_sharded encodes as JSON: {path: {"full_shape": [...], "slice":
// [...], "flat": bool}}, the slice as init_shard_'s.
torchinit::ShardMap shards_of(const std::string& text) {
  constexpr const char* who = "torchinit.Plan.apply_sharded: ";
  torchinit::ShardMap out;
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    TORCH_CHECK(false, who, "shards: invalid JSON: ", e.what());
  }
  TORCH_CHECK(doc.is_object(), who, "shards must map paths to {full_shape, slice, flat}");
  for (const auto& [path, entry] : doc.items()) {
    TORCH_CHECK(entry.is_object() && entry.contains("full_shape") && entry.contains("slice"), who,
                path, ": expected {\"full_shape\": [...], \"slice\": [...], \"flat\": bool}");
    const bool flat = entry.value("flat", false);
    out[path] =
        torchinit::ParamShard{entry.at("full_shape").get<std::vector<int64_t>>(),
                              slice_of(entry.at("slice").get<std::vector<int64_t>>(), flat)};
  }
  return out;
}

// plan_apply_(Tensor(a!)[] params, str modules, str plan, str preset, int layers, int? seed,
// bool strict, str backend, str shards) -> str: writes every parameter, returns the Report.
// With shards, the parameters it names are shards of the described (full) parameters.
std::string plan_apply_op(at::TensorList params, std::string modules, std::string plan,
                          std::string preset, int64_t layers, c10::optional<int64_t> seed,
                          bool strict, std::string backend, std::string shards) {
  if (!shards.empty()) {
    const torchinit::ShardMap map = shards_of(shards);
    return report_json(torchinit::apply_sharded_params(
        plan_of(plan, preset, layers), torchinit::params_from_json(modules, params.vec(), map), map,
        apply_options(seed, strict, backend)));
  }
  return report_json(torchinit::apply_params(plan_of(plan, preset, layers),
                                             torchinit::params_from_json(modules, params.vec()),
                                             apply_options(seed, strict, backend)));
}

// Meta kernel: the plan resolved and validated against the shapes, nothing written.
std::string plan_apply_meta(at::TensorList params, std::string modules, std::string plan,
                            std::string preset, int64_t layers, c10::optional<int64_t>, bool strict,
                            std::string backend, std::string shards) {
  (void)backend_of(backend, "torchinit.Plan.apply");
  if (!shards.empty()) {
    const torchinit::ShardMap map = shards_of(shards);
    return report_json(torchinit::explain_params(
        plan_of(plan, preset, layers), torchinit::params_from_json(modules, params.vec(), map),
        apply_options(c10::nullopt, strict)));
  }
  return plan_explain_op(params.vec(), std::move(modules), std::move(plan), std::move(preset),
                         layers, strict);
}

// plan_check(Tensor[] params, str modules, str plan, str preset, int layers, float alpha,
// bool strict) -> str: every parameter against its row's theory (family-wise alpha).
std::string plan_check_op(std::vector<at::Tensor> params, std::string modules, std::string plan,
                          std::string preset, int64_t layers, double alpha, bool strict) {
  auto described = torchinit::params_from_json(modules, params);
  const torchinit::Report report = torchinit::explain_params(
      plan_of(plan, preset, layers), described, apply_options(c10::nullopt, strict));
  return torchinit::check_params(described, report, torchinit::CheckOptions().alpha(alpha)).json();
}

// presets() -> str[]
std::vector<std::string> presets_op() { return torchinit::Plan::presets(); }

// explain(str spec, int[] shape) -> str: `torchinit explain SPEC --shape … --json`.
std::string explain_op(std::string spec, std::vector<int64_t> shape) {
  return torchinit::explain_json(spec, shape);
}

// initializers() -> str: `torchinit list --json`.
std::string initializers_op() { return torchinit::initializers_json(); }

// moments(Tensor self) -> float[]: [n, mean, m2, m3, m4] (central sums) of every element, for
// merging across ranks (stats::Moments::merge); zeros for an empty tensor.
std::vector<double> moments_op(const at::Tensor& self) {
  TORCH_CHECK(self.defined() && at::isFloatingType(self.scalar_type()),
              "torchinit.moments: needs a floating tensor");
  const torchinit::stats::Moments m =
      self.numel() > 0 ? torchinit::tensor_moments(self) : torchinit::stats::Moments{};
  return {double(m.n), m.mean, m.m2, m.m3, m.m4};
}

// checkable_from_shards(str spec, int[] full_shape) -> bool
bool checkable_from_shards_op(std::string spec, std::vector<int64_t> full_shape) {
  return torchinit::checkable_from_shards(torchinit::theory(spec, full_shape));
}

// shard_subsample(Tensor shard, int[] full_shape, int[] slice=[], bool flat=False) -> Tensor
at::Tensor shard_subsample_op(const at::Tensor& shard, std::vector<int64_t> full_shape,
                              std::vector<int64_t> slice, bool flat) {
  return torchinit::shard_subsample(shard, full_shape, slice_of(slice, flat));
}

// check_merged(str spec, int[] full_shape, float[] rank_moments, Tensor subsample,
// ScalarType dtype, float alpha=1e-6) -> str: the moments of every rank (5 numbers each, rank
// order) merged as torchinit::dist does, then check()'s verdict as JSON.
std::string check_merged_op(std::string spec, std::vector<int64_t> full_shape,
                            std::vector<double> rank_moments, const at::Tensor& subsample,
                            at::ScalarType dtype, double alpha) {
  TORCH_CHECK(!rank_moments.empty() && rank_moments.size() % 5 == 0,
              "torchinit.check_sharded: rank_moments holds 5 numbers per rank "
              "(torchinit.moments), got ",
              rank_moments.size());
  torchinit::stats::Moments merged;
  for (size_t i = 0; i < rank_moments.size(); i += 5) {
    torchinit::stats::Moments m;
    m.n = int64_t(rank_moments[i]);
    m.mean = rank_moments[i + 1];
    m.m2 = rank_moments[i + 2];
    m.m3 = rank_moments[i + 3];
    m.m4 = rank_moments[i + 4];
    merged = torchinit::stats::Moments::merge(merged, m);  // rank order, as torchinit::dist
  }
  return torchinit::check_merged(torchinit::theory(spec, full_shape), merged, subsample, dtype,
                                 torchinit::CheckOptions().alpha(alpha))
      .json();
}

}  // namespace

TORCH_LIBRARY(torchinit, m) {
  m.def(
      "init_(Tensor(a!) self, str spec, int? seed=None, str key=\"\", str backend=\"philox\") "
      "-> Tensor(a!)");
  m.def(
      "init_shard_(Tensor(a!) shard, str spec, int[] full_shape, int[] slice=[], bool flat=False, "
      "int? seed=None, str key=\"\") -> Tensor(a!)");
  m.def("theory(str spec, int[] shape) -> str", &theory_op);
  m.def("check(Tensor self, str spec, float alpha=1e-6) -> str", &check_op);
  m.def("presets() -> str[]", &presets_op);
  m.def("explain(str spec, int[] shape) -> str", &explain_op);
  m.def("initializers() -> str", &initializers_op);
  m.def("moments(Tensor self) -> float[]", &moments_op);
  m.def("checkable_from_shards(str spec, int[] full_shape) -> bool", &checkable_from_shards_op);
  m.def(
      "shard_subsample(Tensor shard, int[] full_shape, int[] slice=[], bool flat=False) -> Tensor",
      &shard_subsample_op);
  m.def(
      "check_merged(str spec, int[] full_shape, float[] rank_moments, Tensor subsample, "
      "ScalarType dtype, float alpha=1e-6) -> str",
      &check_merged_op);
  m.def("plan_parse(str plan, str preset=\"\", int layers=0) -> str", &plan_parse_op);
  m.def(
      "plan_explain(Tensor[] params, str modules, str plan, str preset=\"\", int layers=0, "
      "bool strict=True) -> str",
      &plan_explain_op);
  m.def(
      "plan_check(Tensor[] params, str modules, str plan, str preset=\"\", int layers=0, "
      "float alpha=1e-6, bool strict=True) -> str",
      &plan_check_op);
  m.def(
      "plan_apply_(Tensor(a!)[] params, str modules, str plan, str preset=\"\", int layers=0, "
      "int? seed=None, bool strict=True, str backend=\"philox\", str shards=\"\") -> str");
}

// Every device with storage (torchinit::init_ handles the device), and Meta without data.
TORCH_LIBRARY_IMPL(torchinit, CompositeExplicitAutograd, m) {
  m.impl("init_", &init_op);
  m.impl("init_shard_", &init_shard_op);
  m.impl("plan_apply_", &plan_apply_op);
}
TORCH_LIBRARY_IMPL(torchinit, Meta, m) {
  m.impl("init_", &init_meta);
  m.impl("init_shard_", &init_shard_meta);
  m.impl("plan_apply_", &plan_apply_meta);
}
// Initialization records no autograd history (torchinit::init_ writes under NoGradGuard).
TORCH_LIBRARY_IMPL(torchinit, Autograd, m) {
  m.impl("init_", torch::CppFunction::makeFallthrough());
  m.impl("init_shard_", torch::CppFunction::makeFallthrough());
  m.impl("plan_apply_", torch::CppFunction::makeFallthrough());
}
