#include "torchinit/nn/param_table.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <string>

#include "spec/spec_args.h"
#include "torchinit/module_desc.h"

namespace torchinit::nn {
namespace {

constexpr const char* kTableWho = "torchinit::nn::param_table";

// A size: an integer in [1, 2^31 - 1].
torchinit::detail::SpecParam size_param(std::string name, int64_t default_value) {
  const SpecValue value = SpecValue::of_number(double(default_value));
  return torchinit::detail::SpecParam{
      std::move(name), value, value.str(), "an integer >= 1",
      [](const SpecValue& v, const torchinit::detail::ArgCheck& check) {
        if (v.kind != SpecValue::Kind::Number)
          check.expected("a number", torchinit::detail::got(v), v.column);
        if (!(v.number >= 1 && v.number <= 2147483647.0) || std::floor(v.number) != v.number)
          check.expected("an integer >= 1", v.str(), v.column);
      }};
}

ModuleDesc linear(int64_t in, int64_t out) {
  ModuleDesc d;
  d.type = "Linear";
  d.in_features = in;
  d.out_features = out;
  d.bias = false;
  return d;
}

// torchinit::nn::Projection's description (projection.cpp) without a bias.
ModuleDesc projection(const std::string& role) {
  ModuleDesc d;
  d.type = "Projection";
  d.params["weight"] = ParamDesc(role, "kaiming_uniform(a=2.23606797749979)");
  return d;
}

// RMSNorm (Zhang & Sennrich 2019): a scale, initialized to ones; no LibTorch 1.13 type.
ModuleDesc rms_norm() {
  ModuleDesc d;
  d.type = "RMSNorm";
  d.params["weight"] = ParamDesc("norm_scale", "ones");
  return d;
}

struct Table {
  std::vector<ModuleParam> params;
  void add(const std::string& path, const ModuleDesc& desc, std::vector<int64_t> shape) {
    ModuleParam p;
    p.info = describe_parameter(desc, "weight", std::move(shape));
    p.info.path = path + ".weight";
    params.push_back(std::move(p));
  }
};

std::vector<ModuleParam> llama(int64_t dim, int64_t layers, int64_t hidden, int64_t vocab) {
  Table t;
  ModuleDesc embedding;
  embedding.type = "Embedding";
  embedding.num_embeddings = vocab;
  embedding.embedding_dim = dim;
  t.add("tok_emb", embedding, {vocab, dim});
  const ModuleDesc norm = rms_norm(), residual = projection("residual_out");
  for (int64_t i = 0; i < layers; ++i) {
    const std::string block = fmt::format("layers.{}", i);
    t.add(block + ".norm1", norm, {dim});
    for (const char* name : {"q", "k", "v"})
      t.add(block + ".attn." + name, linear(dim, dim), {dim, dim});
    t.add(block + ".attn.proj", residual, {dim, dim});
    t.add(block + ".norm2", norm, {dim});
    t.add(block + ".mlp.fc1", linear(dim, hidden), {hidden, dim});
    t.add(block + ".mlp.gate", linear(dim, hidden), {hidden, dim});
    t.add(block + ".mlp.fc2", residual, {dim, hidden});
  }
  t.add("norm", norm, {dim});
  t.add("head", projection("readout"), {vocab, dim});
  return std::move(t.params);
}

}  // namespace

std::vector<ModuleParam> param_table(std::string_view text) {
  const Spec spec = Spec::parse(text);
  const std::vector<std::string> models = param_table_models();
  if (spec.name() != "llama") {
    torchinit::detail::ArgCheck(spec.source(), kTableWho, "param_table", "model")
        .expected("a model of " + fmt::format("{}", fmt::join(models, ", ")), spec.name(),
                  spec.column(), "",
                  "; other models: build them with torchinit::nn::make(spec) and module_params");
  }
  const std::vector<torchinit::detail::SpecParam> schema = {
      size_param("dim", 4096), size_param("layers", 32), size_param("heads", 32),
      size_param("hidden", 11008), size_param("vocab", 32000)};
  const torchinit::detail::BoundArgs a =
      torchinit::detail::bind(spec, kTableWho, spec.name(), schema);
  auto value = [&](size_t i) { return int64_t(a.values[i].number); };
  const int64_t dim = value(0), heads = value(2);
  TORCH_CHECK(dim % heads == 0, kTableWho, ": llama needs heads (", heads, ") to divide dim (", dim,
              "); pick heads among the divisors of dim, e.g. ", dim % 32 == 0 ? 32 : 1);
  return llama(dim, value(1), value(3), value(4));
}

std::vector<std::string> param_table_models() { return {"llama"}; }

}  // namespace torchinit::nn
