#include "torchinit/lsuv.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "torchinit/nn/probe.h"
#include "torchinit/plan.h"

namespace torchinit {
namespace {

bool is_weight_layer(const std::string& type) {
  return type == "Linear" || type == "Conv1d" || type == "Conv2d" || type == "Conv3d";
}

// Records the paths of the weight layers, or the output of one of them.
struct LayerProbe : nn::Probe {
  std::string target;  // "" lists layers
  std::vector<std::string> layers;
  at::Tensor output;
  void record(const std::string& path, const std::string& type, const at::Tensor& out,
              const torch::nn::Module*) override {
    if (!is_weight_layer(type)) return;
    if (target.empty()) layers.push_back(path);
    if (path == target) output = out;
  }
};

at::Tensor find_parameter(torch::nn::Module& module, const std::string& path) {
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    if (p.key() == path) return p.value();
  return {};
}

LsuvReport lsuv_layers(torch::nn::Module& module, const at::Tensor& batch,
                       const std::vector<std::string>& layers, const LsuvOptions& options) {
  if (options.orthogonal_init()) {
    Plan pre;
    for (const std::string& path : layers) {
      pre.rule(path + ".weight", "orthogonal");
      if (find_parameter(module, path + ".bias").defined()) pre.rule(path + ".bias", "zeros");
    }
    pre.apply(module, ApplyOptions().seed(options.seed()).strict(false));
  }

  LsuvReport report;
  report.tolerance = options.tolerance();
  for (const std::string& path : layers) {
    at::Tensor weight = find_parameter(module, path + ".weight");
    TORCH_CHECK(weight.defined(), "torchinit::lsuv_: layer '", path, "' has no weight");
    LayerProbe probe;
    probe.target = path;
    LsuvLayer layer;
    layer.path = path;
    for (int it = 0;; ++it) {
      (void)nn::forward_probed(module, batch, probe);
      const double var = probe.output.to(at::kDouble).var().item<double>();
      TORCH_CHECK(std::isfinite(var) && var > 0, "torchinit::lsuv_: the output variance of '", path,
                  "' is ", var, "; LSUV needs a finite, positive variance to rescale (check ",
                  "the batch and the layers before it)");
      if (it == 0) layer.initial_variance = var;
      layer.final_variance = var;
      layer.iterations = it;
      layer.converged = std::abs(var - 1) <= options.tolerance();
      if (layer.converged || it == options.max_iter()) break;
      const double factor = 1 / std::sqrt(var);
      weight.mul_(factor);
      layer.scale *= factor;
    }
    report.layers.push_back(layer);
  }
  return report;
}

}  // namespace

bool LsuvReport::converged() const {
  return std::all_of(layers.begin(), layers.end(), [](const LsuvLayer& l) { return l.converged; });
}

std::string LsuvReport::table() const {
  std::string out = fmt::format("{:<16} {:>12} {:>12} {:>10} {:>5} {}\n", "layer", "initial var",
                                "final var", "scale", "iter", "converged");
  for (const LsuvLayer& l : layers) {
    out +=
        fmt::format("{:<16} {:>12.5g} {:>12.5g} {:>10.5g} {:>5} {}\n", l.path, l.initial_variance,
                    l.final_variance, l.scale, l.iterations, l.converged ? "yes" : "NO");
  }
  return out + fmt::format("LSUV: {} of {} layers within {:.3g} of unit variance\n",
                           std::count_if(layers.begin(), layers.end(),
                                         [](const LsuvLayer& l) { return l.converged; }),
                           layers.size(), tolerance);
}

std::string LsuvReport::json() const {
  nlohmann::json j;
  j["tolerance"] = tolerance;
  j["converged"] = converged();
  j["layers"] = nlohmann::json::array();
  for (const LsuvLayer& l : layers) {
    j["layers"].push_back({{"path", l.path},
                           {"initial_variance", l.initial_variance},
                           {"final_variance", l.final_variance},
                           {"scale", l.scale},
                           {"iterations", l.iterations},
                           {"converged", l.converged}});
  }
  return j.dump(2);
}

LsuvReport lsuv_(torch::nn::Module& module, const at::Tensor& batch, const LsuvOptions& options) {
  TORCH_CHECK(options.tolerance() > 0 && options.tolerance() < 1,
              "torchinit::lsuv_: expected tolerance in (0, 1) (got ", options.tolerance(), ")");
  TORCH_CHECK(options.max_iter() >= 1, "torchinit::lsuv_: expected max_iter >= 1 (got ",
              options.max_iter(), ")");
  TORCH_CHECK(batch.defined() && batch.dim() >= 1 && batch.size(0) >= 2,
              "torchinit::lsuv_: expected a batch of at least 2 samples (got ",
              batch.defined() ? batch.sizes() : at::IntArrayRef{}, ")");
  torch::NoGradGuard no_grad;
  LayerProbe list;
  (void)nn::forward_probed(module, batch, list);  // also validates the walk before any write
  TORCH_CHECK(!list.layers.empty(), "torchinit::lsuv_: found no Linear or Conv layer to rescale");

  // On an error part-way, every weight and bias goes back to its bytes before the call.
  std::vector<std::pair<at::Tensor, at::Tensor>> saved;
  for (const std::string& path : list.layers) {
    for (const char* name : {".weight", ".bias"}) {
      at::Tensor t = find_parameter(module, path + name);
      if (t.defined()) saved.emplace_back(t, t.clone());
    }
  }
  try {
    return lsuv_layers(module, batch, list.layers, options);
  } catch (...) {
    for (auto& [t, copy] : saved) t.copy_(copy);
    throw;
  }
}

LsuvReport lsuv_(torch::nn::Module& module, std::vector<int64_t> input_shape,
                 const LsuvOptions& options) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  return lsuv_(module, at::randn(input_shape, gen), options);
}

}  // namespace torchinit
