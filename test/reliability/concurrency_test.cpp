// Concurrency: init_, check and Plan::apply called from 8 threads at once, on different tensors
// and modules, give the same bytes (and verdicts) as serial calls; the registry can be read while
// another thread registers.
#include <ATen/ops/empty.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "torchinit/check.h"
#include "torchinit/init.h"
#include "torchinit/nn/make.h"
#include "torchinit/nn/registry.h"
#include "torchinit/plan.h"
#include "torchinit/registry.h"

namespace {

constexpr int kThreads = 8;

const std::vector<std::string>& specs() {
  static const std::vector<std::string> s = {"xavier_uniform(gain=relu)",
                                             "kaiming_normal(mode=fan_out)",
                                             "orthogonal",
                                             "trunc_normal(std=0.02, a=-0.04, b=0.04)",
                                             "sparse(0.5)",
                                             "normal(std=0.1)",
                                             "variance_scaling(mode=fan_avg)",
                                             "uniform(a=-1, b=1)"};
  return s;
}

// Runs fn(i) for i in [0, kThreads) on kThreads threads started together.
template <typename Fn>
void run_together(Fn fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      fn(i);
    });
  for (auto& t : threads) t.join();
}

TEST(Concurrency, InitFromEightThreadsEqualsSerial) {
  auto make = [](int i, at::ScalarType dtype) {
    const at::Tensor t = at::empty({128, 96}, at::TensorOptions().dtype(dtype));
    torchinit::init_(t, specs()[size_t(i)],
                     torchinit::InitOptions().seed(17).key("layer" + std::to_string(i)));
    return t;
  };
  for (auto dtype : {at::kFloat, at::kDouble, at::kBFloat16}) {
    std::vector<at::Tensor> serial, parallel(kThreads);
    for (int i = 0; i < kThreads; ++i) serial.push_back(make(i, dtype));
    run_together([&](int i) { parallel[size_t(i)] = make(i, dtype); });
    for (int i = 0; i < kThreads; ++i)
      EXPECT_TRUE(torchinit::testutil::same_bytes(serial[size_t(i)], parallel[size_t(i)]))
          << specs()[size_t(i)] << " " << dtype;
  }
}

TEST(Concurrency, CheckFromEightThreadsEqualsSerial) {
  std::vector<at::Tensor> tensors;
  for (int i = 0; i < kThreads; ++i) {
    tensors.push_back(at::empty({256, 128}));
    torchinit::init_(tensors.back(), specs()[size_t(i)],
                     torchinit::InitOptions().seed(3).key(std::to_string(i)));
  }
  std::vector<std::string> serial, parallel(kThreads);
  for (int i = 0; i < kThreads; ++i)
    serial.push_back(torchinit::check(tensors[size_t(i)], specs()[size_t(i)]).summary());
  run_together([&](int i) {
    parallel[size_t(i)] = torchinit::check(tensors[size_t(i)], specs()[size_t(i)]).summary();
  });
  EXPECT_EQ(serial, parallel);
}

TEST(Concurrency, PlanApplyFromEightThreadsEqualsSerial) {
  const std::vector<std::string> models = {"mlp(in=64, hidden=[64, 32], out=10)",
                                           "lstm(in=16, hidden=32, layers=2, out=10)"};
  const std::vector<std::string> presets = {"he", "orthogonal_rnn"};
  auto params = [&](int i) {
    auto net = torchinit::nn::make(models[size_t(i % 2)]);
    torchinit::Plan::preset(presets[size_t(i % 2)])
        .apply(net, torchinit::ApplyOptions().seed(uint64_t(100 + i)));
    std::vector<at::Tensor> out;
    for (const auto& p : net.ptr()->parameters()) out.push_back(p.detach());
    return out;
  };
  std::vector<std::vector<at::Tensor>> serial, parallel(kThreads);
  for (int i = 0; i < kThreads; ++i) serial.push_back(params(i));
  run_together([&](int i) { parallel[size_t(i)] = params(i); });
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_EQ(serial[size_t(i)].size(), parallel[size_t(i)].size());
    for (size_t k = 0; k < serial[size_t(i)].size(); ++k)
      EXPECT_TRUE(torchinit::testutil::same_bytes(serial[size_t(i)][k], parallel[size_t(i)][k]))
          << "thread " << i << " parameter " << k;
  }
}

// Runs `read` in 4 threads while `register_one(i)` registers 200 entries in another; returns
// the number of reads done while the writer was running.
template <typename Register, typename Read>
int read_while_registering(Register register_one, Read read) {
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, started{0};
  std::thread writer([&] {
    while (started.load() < 4) std::this_thread::yield();  // the readers are reading
    for (int i = 0; i < 200; ++i) register_one(i);
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      ++started;
      while (!done.load()) {
        read();
        ++reads;
      }
    });
  writer.join();
  for (auto& t : readers) t.join();
  return reads.load();
}

TEST(Concurrency, RegistryIsReadableWhileAnotherThreadRegisters) {
  auto& registry = torchinit::Registry::global();
  const auto normal = registry.find("normal");
  ASSERT_TRUE(normal);
  const int reads = read_while_registering(
      [&](int i) {
        torchinit::RegistryEntry e = *normal;
        e.name = "test_concurrent_" + std::to_string(i);
        e.aliases = {"test_concurrent_alias_" + std::to_string(i)};
        registry.add(std::move(e));
      },
      [&] {
        const auto init = registry.make("normal(std=2)");
        EXPECT_EQ(init->spec().str(), "normal(mean=0, std=2)");
        // Names before all names: the registry only grows, so a later all_names() holds at
        // least every name seen earlier (the other order races with the writer).
        const size_t names = registry.names().size();
        EXPECT_GE(registry.all_names().size(), names);
        (void)registry.find("test_concurrent_alias_7");
      });
  EXPECT_GT(reads, 0);
  // Every entry registered, by name and by alias.
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(registry.find("test_concurrent_" + std::to_string(i)));
    EXPECT_TRUE(registry.find("test_concurrent_alias_" + std::to_string(i)));
  }
  const at::Tensor t = at::empty({4, 4});
  EXPECT_NO_THROW(torchinit::init_(t, "test_concurrent_alias_199(std=2)"));
}

TEST(Concurrency, ModelRegistryIsReadableWhileAnotherThreadRegisters) {
  auto& registry = torchinit::nn::ModelRegistry::global();
  const auto mlp = registry.find("mlp");
  ASSERT_TRUE(mlp);
  const int reads = read_while_registering(
      [&](int i) {
        torchinit::nn::ModelEntry e = *mlp;
        e.name = "test_concurrent_model_" + std::to_string(i);
        registry.add(std::move(e));
      },
      [&] {
        EXPECT_EQ(registry.resolve("mlp(in=4, out=2)").name(), "mlp");
        EXPECT_FALSE(registry.entries().empty());
        (void)registry.find("test_concurrent_model_7");
      });
  EXPECT_GT(reads, 0);
  for (int i = 0; i < 200; ++i)
    EXPECT_TRUE(registry.find("test_concurrent_model_" + std::to_string(i)));
}

}  // namespace
