// Signal through a pre-LN residual stack (GPT, nn/gpt.h): the mean square of the residual stream
// after the embedding and after every block, predicted from a Report and measured on a batch.
//
// Theory. A pre-LN block adds f(LN(x)) to x; LN's output y has Σ_j y_j² = d exactly (unit gain,
// zero shift; E[γ²] d + E[β²] d in general), and every weight is drawn independently with mean 0,
// so each branch adds its own second moment and q_l = E[x_j²] obeys
//   q_0     = E[tok²] + E[pos²]
//   q_{l+1} = q_l + a_l + m_l,
//   a_l = E[proj²]·d·(E[v²]·s + E[b_v²]) + E[b_proj²]                        (attention)
//   m_l = E[fc2²]·r d·E[gelu(u)²] + E[b_2²],  u ~ N(0, E[fc1²]·s + E[b_1²])  (MLP)
// with s = E[γ²] d + E[β²] d, E[w²] the second moment of each row's theory (v: the value block of
// the fused QKV) and E[gelu(u)²] from the activation's Gaussian moments (activation.h). Without
// depth scaling q grows linearly in depth; with residual outputs scaled by 1/√(2L) (GPT-2) the
// blocks together add what one unscaled block adds, so q stays bounded.
//
// Measurement: sequences of one token, so attention passes its values through unchanged and the
// recursion holds in expectation exactly (over T tokens attention averages values, which by
// Jensen's inequality can only lower a_l: the prediction is then an upper bound). The batch's
// tokens are drawn uniformly from the vocabulary; q is the mean of x² over batch and features.
// A finite width makes the measured value a random multiple of the prediction, with relative
// spread O(1/d) from the weights and O(1/√(batch·d)) from the batch.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace torchinit {

class Report;

struct ResidualStreamOptions {
  TORCH_ARG(int64_t, batch) = 512;
  TORCH_ARG(uint64_t, seed) = 0;  // the batch's tokens
};

struct ResidualPoint {
  std::string path;  // "embed", "layers.0", …
  double predicted = 0, measured = 0;
};

struct ResidualStream {
  std::vector<ResidualPoint> points;  // the embedding, then each block
  // max over points of |ln(measured / predicted)|
  double max_log_ratio() const;
  std::string table() const;
};

// `model` must be a torchinit::nn::GPT whose every parameter `report` describes (Plan::apply's
// Report), with zero-mean weights; c10::Error otherwise, naming what is missing.
ResidualStream residual_stream(torch::nn::Module& model, const Report& report,
                               const ResidualStreamOptions& options = {});

}  // namespace torchinit
