// torchinit dist-demo [--world-size 4] [--seed 1] [--timeout 60] [--rows 4096 --cols 16384]:
// forks N ranks on 127.0.0.1 (Gloo over a FileStore in a temp dir); each shards ResNet-50's
// convolutions by output channel and a rows x cols Linear weight by rows and by columns, inits
// its shards, checks the global statistics (check_sharded), gathers the shards to rank 0 and
// compares them bitwise with a single-process init_. Rank 0 prints the table and the time per rank.
// Exit status 1 when a check fails or a byte differs.
#include <ATen/Functions.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "torchinit/distributed.h"
#include "torchinit/module_layout.h"
#include "torchinit/nn/make.h"
#include "torchinit/shard.h"

namespace torchinit::cli {
namespace {

// Largest --rows and --cols: each fits int32, their product int64.
constexpr int64_t kMaxLinearSize = (int64_t{1} << 31) - 1;

struct DistDemoArgs {
  int world = 4;
  uint64_t seed = 1;
  int timeout_s = 60;
  int64_t rows = 4096, cols = 16384;
};

struct Param {
  std::string path;
  std::vector<int64_t> shape;
  std::string spec;
  int dim;  // sharded along this dim
};

// [begin, end) of rank r's near-even share of n (the first n % world ranks get one more).
std::pair<int64_t, int64_t> share(int64_t n, int world, int r) {
  const int64_t base = n / world, extra = n % world;
  const int64_t b = r * base + std::min<int64_t>(r, extra);
  return {b, b + base + (r < extra ? 1 : 0)};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Group {
  std::string name;
  std::vector<Param> params;
};

int run_rank(int rank, const DistDemoArgs& a, const std::string& store,
             const std::vector<Group>& groups) {
  using Clock = std::chrono::steady_clock;
  dist::Context ctx(dist::ContextOptions().rank(rank).world_size(a.world).file_store(store).timeout(
      std::chrono::seconds(a.timeout_s)));
  int64_t params = 0;
  for (const auto& g : groups) params += int64_t(g.params.size());
  const CheckOptions each = CheckOptions().alpha(1e-6 / double(params));  // family-wise 1e-6
  std::vector<double> times(3 * groups.size(), 0);  // init, check, gather+compare per group
  std::vector<std::string> rows;
  std::map<std::string, at::Tensor> reference;  // the Linear sharded twice is computed once
  bool ok = true;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    int passed = 0, equal = 0, inconclusive = 0;
    int64_t elements = 0;
    for (const Param& p : g.params) {
      const auto [b, e] = share(p.shape[p.dim], a.world, rank);
      const Slice slice = Slice::dim(p.dim, b, e);
      const auto opts = InitOptions().seed(a.seed).key(p.path);
      auto t0 = Clock::now();
      at::Tensor shard = at::empty(slice.shard_shape(p.shape));
      init_shard_(shard, p.spec, p.shape, slice, opts);
      times[3 * gi] += seconds_since(t0);
      t0 = Clock::now();
      const CheckResult r =
          dist::check_sharded(ctx, shard, p.shape, slice, theory(p.spec, p.shape), each);
      times[3 * gi + 1] += seconds_since(t0);
      // As ModuleCheck: rejected fails; too small for the power requirement is counted apart.
      passed += !r.rejected();
      inconclusive += r.inconclusive();
      if (r.rejected() && rank == 0) fmt::print("{}: {}\n", p.path, r.summary());
      t0 = Clock::now();
      const at::Tensor gathered = dist::gather_full(ctx, shard, p.shape, slice, 0);
      if (rank == 0) {  // the single-process reference, on one rank, once per parameter
        at::Tensor& full = reference[p.path + " = " + p.spec];
        if (!full.defined()) full = init_(at::empty(p.shape), p.spec, opts);
        const bool same = std::memcmp(full.data_ptr(), gathered.data_ptr(),
                                      full.numel() * full.element_size()) == 0;
        equal += same;
      }
      times[3 * gi + 2] += seconds_since(t0);
      int64_t n = 1;
      for (int64_t d : p.shape) n *= d;
      elements += n;
    }
    const bool group_ok = passed == int(g.params.size()) && (rank != 0 || equal == passed);
    ok = ok && group_ok;
    rows.push_back(fmt::format("{:<34} {:>10.1f}M {:>9} {:>13} {:>14}", g.name,
                               double(elements) / 1e6,
                               fmt::format("{}/{}", passed, g.params.size()), inconclusive,
                               fmt::format("{}/{}", equal, g.params.size())));
  }
  // Everyone's times to rank 0.
  const auto all = ctx.all_gather(at::tensor(times, at::kDouble), "dist-demo times");
  if (rank == 0) {
    fmt::print("torchinit dist-demo: {} ranks on 127.0.0.1 (Gloo, FileStore), seed {}\n\n", a.world,
               a.seed);
    fmt::print("{:<34} {:>11} {:>9} {:>13} {:>14}\n", "parameters (sharding)", "elements",
               "check ok", "inconclusive", "bitwise equal");
    for (const auto& r : rows) fmt::print("{}\n", r);
    fmt::print("\nseconds per rank: init_shard_ / check_sharded / gather+compare\n");
    fmt::print("{:<6}", "rank");
    for (const auto& g : groups) fmt::print(" {:>26}", g.name.substr(0, 26));
    fmt::print("\n");
    for (int r = 0; r < a.world; ++r) {
      const double* t = all[r].data_ptr<double>();
      fmt::print("{:<6}", r);
      for (size_t gi = 0; gi < groups.size(); ++gi)
        fmt::print(" {:>26}", fmt::format("{:.2f} / {:.2f} / {:.2f}", t[3 * gi], t[3 * gi + 1],
                                          t[3 * gi + 2]));
      fmt::print("\n");
    }
    fmt::print(
        "\nchecks: family-wise alpha 1e-6 (Bonferroni); inconclusive = accepted but too few "
        "elements to detect a 10% variance error with power 0.99.\nrank 0 gathers the shards and "
        "computes each full parameter with init_ for the comparison (in gather+compare).\n{}\n",
        ok ? "PASS: no check rejected and every gathered parameter equals init_ bitwise" : "FAIL");
  }
  return ok ? 0 : 1;
}

void run(const DistDemoArgs& a) {
  // The ranges of each option were checked while parsing.
  TORCH_CHECK(a.rows >= a.world && a.cols >= a.world,
              "torchinit dist-demo: --rows and --cols must be >= --world-size");
  // Rank 0 holds the full Linear weight twice (reference and gather) besides its shards, and
  // the ranks together hold it once more.
  check_fits_in_memory("dist-demo", fmt::format("--rows {} --cols {}", a.rows, a.cols),
                       4.0 * 4.0 * double(a.rows) * double(a.cols));
  // Shapes come from a model built once here; the ranks inherit them through fork.
  Group convs{"resnet50 convs (out channel)", {}};
  {
    const auto net = nn::make("resnet(depth=50, classes=1000)");
    for (const auto& mp : module_params(*net.ptr()))
      if (mp.info.module_type == "Conv2d" && mp.info.role == "weight")
        convs.params.push_back(
            {mp.info.path, mp.info.shape, "kaiming_normal(mode=fan_out, nonlinearity=relu)", 0});
  }
  const std::vector<int64_t> linear{a.rows, a.cols};
  const std::vector<Group> groups = {
      convs,
      {fmt::format("linear {}x{} (rows)", a.rows, a.cols),
       {{"fc.weight", linear, "xavier_normal", 0}}},
      {fmt::format("linear {}x{} (cols)", a.rows, a.cols),
       {{"fc.weight", linear, "xavier_normal", 1}}},
  };
  char tmpl[] = "/tmp/torchinit_dist_demo_XXXXXX";
  TORCH_CHECK(mkdtemp(tmpl) != nullptr, "torchinit dist-demo: cannot create a temp dir in /tmp");
  const std::string store = std::string(tmpl) + "/store";
  const auto t0 = std::chrono::steady_clock::now();
  const auto codes =
      dist::fork_local(a.world, [&](int rank) { return run_rank(rank, a, store, groups); });
  std::remove(store.c_str());
  rmdir(tmpl);
  fmt::print("wall time {:.1f} s\n", seconds_since(t0));
  for (int r = 0; r < a.world; ++r)
    TORCH_CHECK(codes[r] == 0 || codes[r] == 1, "torchinit dist-demo: rank ", r,
                " exited with status ", codes[r], " (see its error above)");
  for (int c : codes)
    if (c != 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_dist_demo_command(CLI::App& app) {
  auto args = std::make_shared<DistDemoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dist-demo",
      "Fork N local ranks (Gloo on 127.0.0.1), init sharded ResNet-50 convs and a large Linear, "
      "check global statistics and compare the gathered weights bitwise with init_");
  cmd->add_option("--world-size,-n", args->world, "number of ranks (processes)")
      ->transform(integer_in(1, 64))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "stream seed")
      ->transform(seed_value())
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_s, "seconds before a collective gives up")
      ->transform(integer_in(1, 86'400))
      ->capture_default_str();
  cmd->add_option("--rows", args->rows, "rows of the Linear weight")
      ->transform(integer_in(1, kMaxLinearSize))
      ->capture_default_str();
  cmd->add_option("--cols", args->cols, "columns of the Linear weight")
      ->transform(integer_in(1, kMaxLinearSize))
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace torchinit::cli
