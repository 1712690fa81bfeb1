// Declare a ResNet, initialize it with a plan, check every parameter against its theory, and
// run a batch through it. Exit status 1 if a parameter fails its check.
#include <ATen/ops/randn.h>
#include <torchinit/torchinit.h>

#include <iostream>

int main() {
  auto net = torchinit::nn::make("resnet(depth=18, classes=10, stem=cifar)");
  const auto plan = torchinit::Plan::parse(R"(
      @Conv2d.weight = kaiming_normal(mode=fan_out, nonlinearity=relu)
      layer*.bn2.weight = zeros      # zero-gamma: each residual branch starts as the identity
      :norm_scale = ones
      :norm_shift = zeros
      :weight = kaiming_uniform(a=2.23606797749979)
      :bias = zeros
  )");
  const torchinit::Report report = plan.apply(net, torchinit::ApplyOptions().seed(42));
  const torchinit::ModuleCheck result = torchinit::check(net, report);
  std::cout << result.table();
  const at::Tensor logits = net.forward(at::randn({2, 3, 32, 32}));
  std::cout << "logits " << logits.sizes() << "; " << result.results().size()
            << " parameters checked, " << result.inconclusive() << " too small to test with power; "
            << (result.passed() ? "PASS" : "FAIL") << "\n";
  return result.passed() && logits.size(1) == 10 ? 0 : 1;
}
