#include "torchinit/nn/recurrent_net.h"

#include <ATen/ops/cat.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <ostream>
#include <tuple>
#include <utility>
#include <vector>

#include "torchinit/spec.h"

namespace torchinit::nn {

RecurrentNetOptions::RecurrentNetOptions(std::string cell, int64_t input_size, int64_t hidden_size,
                                         int64_t out_features)
    : cell_(std::move(cell)),
      input_size_(input_size),
      hidden_size_(hidden_size),
      out_features_(out_features) {}

RecurrentNetImpl::RecurrentNetImpl(RecurrentNetOptions options) : options(std::move(options)) {
  reset();
}

void RecurrentNetImpl::reset() {
  const RecurrentNetOptions& o = options;
  const std::vector<std::string> cells{"rnn_tanh", "rnn_relu", "lstm", "gru"};
  TORCH_CHECK(std::find(cells.begin(), cells.end(), o.cell()) != cells.end(),
              "torchinit::nn::RecurrentNet: cell must be rnn_tanh, rnn_relu, lstm or gru (got '",
              o.cell(), "');", did_you_mean(o.cell(), cells));
  TORCH_CHECK(o.input_size() > 0 && o.hidden_size() > 0 && o.out_features() > 0,
              "torchinit::nn::RecurrentNet: expected input_size, hidden_size and out_features "
              "> 0 (got ",
              o.input_size(), ", ", o.hidden_size(), ", ", o.out_features(), ")");
  TORCH_CHECK(o.num_layers() > 0, "torchinit::nn::RecurrentNet: expected num_layers > 0 (got ",
              o.num_layers(), ")");
  TORCH_CHECK(o.dropout() >= 0 && o.dropout() <= 1,
              "torchinit::nn::RecurrentNet: dropout must be a probability in [0, 1] (got ",
              o.dropout(), ")");
  TORCH_CHECK(o.dropout() == 0 || o.num_layers() > 1,
              "torchinit::nn::RecurrentNet: dropout applies between stacked layers, so dropout=",
              o.dropout(), " has no effect with num_layers=1; use num_layers >= 2 or dropout 0");

  rnn = nullptr;
  lstm = nullptr;
  gru = nullptr;
  if (o.cell() == "lstm") {
    lstm = register_module("lstm",
                           torch::nn::LSTM(torch::nn::LSTMOptions(o.input_size(), o.hidden_size())
                                               .num_layers(o.num_layers())
                                               .bidirectional(o.bidirectional())
                                               .dropout(o.dropout())
                                               .batch_first(true)));
  } else if (o.cell() == "gru") {
    gru =
        register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(o.input_size(), o.hidden_size())
                                                  .num_layers(o.num_layers())
                                                  .bidirectional(o.bidirectional())
                                                  .dropout(o.dropout())
                                                  .batch_first(true)));
  } else {
    auto rnn_options = torch::nn::RNNOptions(o.input_size(), o.hidden_size())
                           .num_layers(o.num_layers())
                           .bidirectional(o.bidirectional())
                           .dropout(o.dropout())
                           .batch_first(true);
    if (o.cell() == "rnn_relu") {
      rnn_options.nonlinearity(torch::kReLU);
    } else {
      rnn_options.nonlinearity(torch::kTanh);
    }
    rnn = register_module("rnn", torch::nn::RNN(rnn_options));
  }
  const int64_t directions = o.bidirectional() ? 2 : 1;
  head = register_module("head", torch::nn::Linear(directions * o.hidden_size(), o.out_features()));
}

void RecurrentNetImpl::pretty_print(std::ostream& stream) const {
  stream << "torchinit::nn::RecurrentNet(cell=" << options.cell()
         << ", input_size=" << options.input_size() << ", hidden_size=" << options.hidden_size()
         << ", out_features=" << options.out_features() << ", num_layers=" << options.num_layers()
         << ", bidirectional=" << (options.bidirectional() ? "true" : "false")
         << ", dropout=" << options.dropout() << ")";
}

torch::Tensor RecurrentNetImpl::forward(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 3 && input.size(2) == options.input_size(),
              "torchinit::nn::RecurrentNet: expected input [batch, time, ", options.input_size(),
              "] (got ", input.sizes(), ")");
  // h_n: [num_layers * directions, batch, hidden_size], the last layer's directions last.
  torch::Tensor h_n;
  if (lstm) {
    h_n = std::get<0>(std::get<1>(lstm->forward(input)));
  } else if (gru) {
    h_n = std::get<1>(gru->forward(input));
  } else {
    h_n = std::get<1>(rnn->forward(input));
  }
  const torch::Tensor features =
      options.bidirectional() ? at::cat({h_n[-2], h_n[-1]}, /*dim=*/1) : h_n[-1];
  return head(features);
}

}  // namespace torchinit::nn
