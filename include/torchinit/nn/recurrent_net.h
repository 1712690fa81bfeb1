// RecurrentNet: a stacked RNN, LSTM or GRU with a linear head on the last time step.
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <iosfwd>
#include <string>

namespace torchinit::nn {

// Options for `RecurrentNet`.
//
// Example:
//   RecurrentNet net(RecurrentNetOptions("lstm", 32, 64, 10).num_layers(2).bidirectional(true));
struct RecurrentNetOptions {
  RecurrentNetOptions(std::string cell, int64_t input_size, int64_t hidden_size,
                      int64_t out_features);

  // "rnn_tanh", "rnn_relu" (Elman RNN with that nonlinearity), "lstm" or "gru".
  TORCH_ARG(std::string, cell);
  // Features per time step of the input.
  TORCH_ARG(int64_t, input_size);
  // Hidden state size of each layer and direction.
  TORCH_ARG(int64_t, hidden_size);
  // Outputs of the linear head.
  TORCH_ARG(int64_t, out_features);
  // Stacked recurrent layers.
  TORCH_ARG(int64_t, num_layers) = 1;
  // Whether each layer runs in both directions (the head then sees 2 * hidden_size features).
  TORCH_ARG(bool, bidirectional) = false;
  // Dropout between stacked layers (needs num_layers > 1 to have an effect).
  TORCH_ARG(double, dropout) = 0.0;
};

// Recurrent classifier/regressor: input [batch, time, input_size] (batch first) →
// [batch, out_features]. The head reads the last layer's final hidden state: the output at the
// last time step for a unidirectional net; for a bidirectional one, the forward direction's
// state after the last step concatenated with the backward direction's state after the first
// step (both have seen the whole sequence).
//
// Parameter paths follow LibTorch: `rnn.weight_ih_l0` (cells rnn_tanh and rnn_relu),
// `lstm.weight_hh_l1_reverse`, `gru.bias_ih_l0`, ... and `head.weight`, `head.bias`. Exactly
// one of `rnn`, `lstm`, `gru` is non-null.
//
// Example:
//   RecurrentNet net(RecurrentNetOptions("gru", 32, 64, 10));
//   torch::Tensor y = net(torch::randn({8, 20, 32}));  // [8, 10]
class RecurrentNetImpl : public torch::nn::Cloneable<RecurrentNetImpl> {
 public:
  explicit RecurrentNetImpl(RecurrentNetOptions options);

  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& input);

  RecurrentNetOptions options;
  torch::nn::RNN rnn{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::Linear head{nullptr};
};

// A `ModuleHolder` for `RecurrentNetImpl`.
TORCH_MODULE(RecurrentNet);

}  // namespace torchinit::nn
