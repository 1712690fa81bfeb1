// torch::optim parameter groups from a Parametrization's Report: each parameter's learning rate
// and weight decay are the options' times its row's multipliers (parametrization.h). Parameters
// with equal multipliers share a group; a tied tensor is in one group once.
//
//   torchinit::Report rep = torchinit::Parametrization::mup(base, plan).apply(model);
//   torch::optim::AdamW opt(torchinit::param_groups(*model.ptr(), rep,
//                                                   torch::optim::AdamWOptions(1e-3)));
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/sgd.h>

#include <vector>

#include "torchinit/plan.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace torchinit {

// c10::Error when the report has no parametrization, was made for the other kind of optimizer
// (MupOptions::optimizer), or lacks a parameter of `model`.
std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report, const torch::optim::AdamOptions& options);
std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report,
    const torch::optim::AdamWOptions& options);
std::vector<torch::optim::OptimizerParamGroup> param_groups(
    const torch::nn::Module& model, const Report& report, const torch::optim::SGDOptions& options);

}  // namespace torchinit
