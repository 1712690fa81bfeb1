// The built-in models of ModelRegistry::global(): mlp, convnet, rnn, lstm, gru, resnet, gpt,
// vit.
#include <c10/util/StringUtil.h>

#include <string>
#include <vector>

#include "torchinit/nn/conv_net.h"
#include "torchinit/nn/gpt.h"
#include "torchinit/nn/mlp.h"
#include "torchinit/nn/recurrent_net.h"
#include "torchinit/nn/registry.h"
#include "torchinit/nn/resnet.h"
#include "torchinit/nn/vit.h"

namespace torchinit::nn::detail {
namespace {

ModelEntry mlp() {
  ModelEntry e;
  e.name = "mlp";
  e.summary =
      "Multilayer perceptron (MLP): per hidden width Linear → norm → act → dropout, then Linear; "
      "[batch, in] → [batch, out]";
  e.example = "mlp(in=784, hidden=[256, 256], out=10, act=relu)";
  e.args = {
      ModelArg::integer("in", "784", "input features"),
      ModelArg::int_list("hidden", "[256, 256]", "hidden widths; [] gives one Linear", 0),
      ModelArg::integer("out", "10", "output features"),
      ModelArg::activation("act", "relu", "activation after each hidden layer"),
      ModelArg::choice("norm", "none", "normalization after each hidden Linear",
                       {"none", "batch", "layer"}),
      ModelArg::number("dropout", "0", "dropout probability after each activation", 0, 1),
      ModelArg::boolean("bias", "true", "whether the Linear layers have biases"),
  };
  e.factory = [](const ModelArgs& a) {
    const std::vector<int64_t> hidden = a.int_list("hidden");
    if (hidden.empty() && a.choice("norm") != "none") {
      a.fail("norm",
             "has no layer to follow: hidden is [], so there is no hidden layer to "
             "normalize; add hidden widths or use norm=none");
    }
    if (hidden.empty() && a.number("dropout") > 0) {
      a.fail("dropout",
             "has no layer to follow: hidden is [], so there is no hidden layer; add "
             "hidden widths or use dropout=0");
    }
    return torch::nn::AnyModule(MLP(MLPOptions(a.integer("in"), hidden, a.integer("out"))
                                        .activation(a.activation("act"))
                                        .norm(a.choice("norm"))
                                        .dropout(a.number("dropout"))
                                        .bias(a.boolean("bias"))));
  };
  return e;
}

ModelEntry convnet() {
  ModelEntry e;
  e.name = "convnet";
  e.summary =
      "VGG-style ConvNet: per stage `convs` × (conv → norm → act), 2× max pooling between "
      "stages, global average pooling, Linear; [batch, in, (h,) w] → [batch, classes]";
  e.example = "convnet(in=3, channels=[32, 64], convs=2, classes=10, dims=2)";
  e.args = {
      ModelArg::integer("in", "3", "input channels"),
      ModelArg::int_list("channels", "[32, 64]", "output channels of each stage", 1),
      ModelArg::integer("convs", "2", "convolutions per stage"),
      ModelArg::integer("kernel", "3", "kernel size (odd: 'same' padding)"),
      ModelArg::integer("classes", "10", "outputs of the classifier"),
      ModelArg::integer_of("dims", "2", "1 for Conv1d on [batch, in, length], 2 for Conv2d",
                           {"1", "2"}),
      ModelArg::choice("norm", "batch", "BatchNorm after each conv, or none (convs with bias)",
                       {"none", "batch"}),
      ModelArg::activation("act", "relu", "activation after each conv"),
  };
  e.factory = [](const ModelArgs& a) {
    const int64_t kernel = a.integer("kernel");
    if (kernel % 2 == 0) {
      a.fail("kernel", "expects an odd kernel size, so that padding kernel/2 keeps the size, got " +
                           std::to_string(kernel) + "; use " + std::to_string(kernel + 1));
    }
    return torch::nn::AnyModule(
        ConvNet(ConvNetOptions(a.integer("in"), a.int_list("channels"), a.integer("classes"))
                    .convs(a.integer("convs"))
                    .kernel_size(kernel)
                    .dims(a.integer("dims"))
                    .norm(a.choice("norm"))
                    .activation(a.activation("act"))));
  };
  return e;
}

// rnn, lstm and gru: RecurrentNet with that cell.
ModelEntry recurrent(const std::string& name) {
  ModelEntry e;
  e.name = name;
  const std::string what = name == "rnn" ? "Elman RNN" : name == "lstm" ? "LSTM" : "GRU";
  e.summary = "Stacked " + what +
              " (batch first) with a Linear head on the last time step; [batch, time, in] → "
              "[batch, out]";
  e.example = name + "(in=32, hidden=64, layers=2, out=10)";
  e.args = {
      ModelArg::integer("in", "32", "input features per time step"),
      ModelArg::integer("hidden", "64", "hidden size per layer and direction"),
      ModelArg::integer("layers", "2", "stacked recurrent layers"),
      ModelArg::integer("out", "10", "outputs of the head"),
  };
  if (name == "rnn") {
    e.args.push_back(
        ModelArg::choice("nonlinearity", "tanh", "the RNN's nonlinearity", {"tanh", "relu"}));
  }
  e.args.push_back(ModelArg::boolean("bidirectional", "false", "run each layer both ways"));
  e.args.push_back(
      ModelArg::number("dropout", "0", "dropout between stacked layers (needs layers > 1)", 0, 1));
  e.factory = [name](const ModelArgs& a) {
    if (a.number("dropout") > 0 && a.integer("layers") == 1) {
      a.fail("dropout",
             "has no effect with layers=1: dropout applies between stacked layers; "
             "use layers >= 2 or dropout=0");
    }
    const std::string cell = name == "rnn" ? "rnn_" + a.choice("nonlinearity") : name;
    return torch::nn::AnyModule(RecurrentNet(
        RecurrentNetOptions(cell, a.integer("in"), a.integer("hidden"), a.integer("out"))
            .num_layers(a.integer("layers"))
            .bidirectional(a.boolean("bidirectional"))
            .dropout(a.number("dropout"))));
  };
  return e;
}

ModelEntry resnet() {
  ModelEntry e;
  e.name = "resnet";
  e.summary =
      "ResNet (He et al. 2016) with torchvision's layers and names; BasicBlock for 18/34, "
      "Bottleneck for 50/101/152; [batch, in_channels, h, w] → [batch, classes]";
  e.example = "resnet(depth=18, classes=10, stem=cifar)";
  e.args = {
      ModelArg::integer_of("depth", "18", "layers", {"18", "34", "50", "101", "152"}),
      ModelArg::integer("classes", "1000", "outputs of fc"),
      ModelArg::choice("stem", "imagenet",
                       "imagenet: 7×7 stride-2 conv + max pool; cifar: 3×3 stride-1 conv",
                       {"imagenet", "cifar"}),
      ModelArg::integer("width", "64", "channels of the first stage (doubled per stage)"),
      ModelArg::integer("in_channels", "3", "input channels"),
  };
  e.factory = [](const ModelArgs& a) {
    return torch::nn::AnyModule(ResNet(ResNetOptions(a.integer("depth"))
                                           .classes(a.integer("classes"))
                                           .stem(a.choice("stem"))
                                           .width(a.integer("width"))
                                           .in_channels(a.integer("in_channels"))));
  };
  return e;
}

void check_heads(const ModelArgs& a) {
  if (a.integer("heads") > 0 && a.integer("width") % a.integer("heads") != 0) {
    a.fail("heads", "must divide width (" + std::to_string(a.integer("width")) +
                        "); each head gets width / heads features");
  }
}

ModelEntry gpt() {
  ModelEntry e;
  e.name = "gpt";
  e.summary =
      "Decoder-only Transformer LM (GPT-2 style): token + position embedding, pre-LN causal "
      "blocks (fused QKV), final LayerNorm, readout; int64 [batch, tokens] → [batch, tokens, "
      "vocab]";
  e.example = "gpt(vocab=96, context=32, width=64, depth=2, heads=4)";
  e.args = {
      ModelArg::integer("vocab", "50257", "vocabulary size"),
      ModelArg::integer("context", "1024", "positions (longest input)"),
      ModelArg::integer("width", "768", "model width"),
      ModelArg::integer("depth", "12", "Transformer blocks"),
      ModelArg::integer("heads", "12", "attention heads (divides width)"),
      ModelArg::integer("mlp_ratio", "4", "MLP hidden width / model width"),
      ModelArg::boolean("tied", "false", "head.weight is tok_emb.weight"),
      ModelArg::choice("norm", "pre", "LayerNorms before each branch, after each sum, or none",
                       {"pre", "post", "none"}),
      ModelArg::choice("qkv", "fused", "one Q/K/V projection per block, or attn.q/k/v",
                       {"fused", "split"}),
      ModelArg::choice("ops", "standard",
                       "standard ops, or u-muP's unit-scaled ones (Parametrization::u_mup)",
                       {"standard", "unit"}),
  };
  e.factory = [](const ModelArgs& a) {
    check_heads(a);
    return torch::nn::AnyModule(
        GPT(GPTOptions(a.integer("vocab"), a.integer("context"), a.integer("width"),
                       a.integer("depth"), a.integer("heads"))
                .mlp_ratio(a.integer("mlp_ratio"))
                .tied(a.boolean("tied"))
                .norm(a.choice("norm"))
                .fused_qkv(a.choice("qkv") == "fused")
                .ops(a.choice("ops"))));
  };
  return e;
}

ModelEntry vit() {
  ModelEntry e;
  e.name = "vit";
  e.summary =
      "Encoder Transformer classifier (ViT style) for small images: patch embedding (strided "
      "conv), position embedding, pre-LN blocks, LayerNorm, mean over tokens, readout; [batch, "
      "channels, image, image] → [batch, classes]";
  e.example = "vit(classes=10, width=64, depth=2, heads=4)";
  e.args = {
      ModelArg::integer("classes", "10", "outputs of the head"),
      ModelArg::integer("width", "64", "model width"),
      ModelArg::integer("depth", "4", "Transformer blocks"),
      ModelArg::integer("heads", "4", "attention heads (divides width)"),
      ModelArg::integer("mlp_ratio", "4", "MLP hidden width / model width"),
      ModelArg::integer("image", "28", "input height and width"),
      ModelArg::integer("patch", "4", "patch side (divides image)"),
      ModelArg::integer("channels", "1", "input channels"),
      ModelArg::choice("norm", "pre", "LayerNorms before each branch, after each sum, or none",
                       {"pre", "post", "none"}),
      ModelArg::choice("qkv", "fused", "one Q/K/V projection per block, or attn.q/k/v",
                       {"fused", "split"}),
  };
  e.factory = [](const ModelArgs& a) {
    check_heads(a);
    if (a.integer("patch") > 0 && a.integer("image") % a.integer("patch") != 0) {
      a.fail("patch", "must divide image (" + std::to_string(a.integer("image")) + ")");
    }
    return torch::nn::AnyModule(ViT(
        ViTOptions(a.integer("classes"), a.integer("width"), a.integer("depth"), a.integer("heads"))
            .mlp_ratio(a.integer("mlp_ratio"))
            .image(a.integer("image"))
            .patch(a.integer("patch"))
            .channels(a.integer("channels"))
            .norm(a.choice("norm"))
            .fused_qkv(a.choice("qkv") == "fused")));
  };
  return e;
}

}  // namespace

void register_builtin_models(ModelRegistry& registry) {
  registry.add(mlp());
  registry.add(convnet());
  registry.add(recurrent("rnn"));
  registry.add(recurrent("lstm"));
  registry.add(recurrent("gru"));
  registry.add(resnet());
  registry.add(gpt());
  registry.add(vit());
}

}  // namespace torchinit::nn::detail
