// torchinit dist-demo [--world-size 4] [--model llama] [--plan megatron_depth] [--dtype bfloat16]
// [--orthogonal 8192] [--compare-block 0] [--seed 1] [--timeout 120]:
//   1. forks N ranks on 127.0.0.1 (Gloo over a FileStore in a temp dir). Each builds the model's
//      parameter table (nn::param_table: full shapes, nothing allocated), allocates only its
//      shards (rows of embeddings, head, norms and the attention/MLP input projections; columns
//      of the residual projections, as Megatron shards them), initializes them with
//      apply_sharded_params and checks every parameter from merged statistics (check_sharded's
//      steps: moments and a subsample, or a count of non-constant elements; no gathering; one
//      rank per parameter computes the verdict). Each rank reports its shard bytes, LibTorch
//      baseline and peak resident memory;
//   2. orthogonal on an n x n matrix sharded 1, 2, 3 and 4 ways (whole, rows, columns, a 2 x 2
//      grid), each shard in its own process, against this process's single init, by digest;
//   3. this process initializes the embedding and one block whole and compares them with the
//      ranks' shards by a 64-bit digest of each shard's bytes.
// Exit status 1 when a check fails or a digest differs.
#include <ATen/Functions.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "torchinit/check.h"
#include "torchinit/distributed.h"
#include "torchinit/merged_check.h"
#include "torchinit/nn/param_table.h"
#include "torchinit/plan_params.h"
#include "torchinit/shard.h"

namespace torchinit::cli {
namespace {

constexpr const char* kDistDemoWho = "torchinit dist-demo";

struct DistDemoArgs {
  int world = 4;
  std::string model = "llama";
  std::string plan = "megatron_depth";
  std::string dtype = "bfloat16";
  int64_t orthogonal = 8192;
  int64_t compare_block = 0;
  uint64_t seed = 1;
  int timeout_s = 120;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// [begin, end) of rank r's near-even share of n (the first n % world ranks get one more).
std::pair<int64_t, int64_t> share(int64_t n, int world, int r) {
  const int64_t base = n / world, extra = n % world;
  const int64_t b = r * base + std::min<int64_t>(r, extra);
  return {b, b + base + (r < extra ? 1 : 0)};
}

// A kB field of /proc/self/status ("VmRSS", "VmHWM") in bytes; 0 when absent.
double status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// FNV-1a over the tensor's bytes (contiguous) taken 8 at a time: equal shards have equal
// digests, and unequal ones collide with probability about 2^-64.
uint64_t digest(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const int64_t n = c.numel() * int64_t(c.element_size());
  uint64_t h = 1469598103934665603ull;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = (h ^ word) * 1099511628211ull;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Megatron's layout: residual projections by columns (their input dim), everything else by rows.
Slice slice_of(const ParamInfo& info, int world, int rank) {
  const int dim = info.role == "residual_out" && info.shape.size() >= 2 ? 1 : 0;
  const auto [b, e] = share(info.shape[size_t(dim)], world, rank);
  return Slice::dim(dim, b, e);
}

// The sampled parameters that the parent recomputes whole: the embedding and one block.
bool sampled(const std::string& path, int64_t block) {
  return path == "tok_emb.weight" || path.rfind(fmt::format("layers.{}.", block), 0) == 0;
}

// An uninitialized tensor whose pages the kernel backs with 2 MiB pages where it can
// (transparent huge pages in "madvise" mode, Debian's default): first-touching 3.4 GB of 4 KiB
// pages cost this VM more system time than the fills themselves.
at::Tensor empty_on_huge_pages(const std::vector<int64_t>& shape, at::ScalarType dtype) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  constexpr uintptr_t kHuge = uintptr_t(1) << 21;
  const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t end = begin + uintptr_t(t.numel()) * uintptr_t(t.element_size());
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1), last = end & ~(kHuge - 1);
  if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  return t;
}

int64_t blocks_of(const std::vector<ModuleParam>& table) {
  const std::string q = ".attn.q.weight";
  int64_t n = 0;
  for (const auto& p : table) {
    const std::string& path = p.info.path;
    n += path.size() >= q.size() && path.compare(path.size() - q.size(), q.size(), q) == 0;
  }
  return n;
}

struct RankStats {  // sent to rank 0, in this order
  double shard_bytes, baseline, peak, init_s, check_s, rejected, inconclusive, gathered;
};

int run_rank(int rank, const DistDemoArgs& a, const std::string& dir, const Plan& plan) {
  const at::ScalarType dtype = parse_dtype(a.dtype, kDistDemoWho);
  dist::Context ctx(dist::ContextOptions()
                        .rank(rank)
                        .world_size(a.world)
                        .file_store(dir + "/store")
                        .timeout(std::chrono::seconds(a.timeout_s)));
  auto say = [&](const std::string& text) {
    if (rank == 0) fmt::print("{}\n", text), std::fflush(stdout);
  };
  // LibTorch's own memory, measured once its kernels have run once: the baseline.
  (void)check(init_(at::empty({4096}), "normal"), "normal");
  ctx.barrier();
  const double baseline = status_bytes("VmRSS");
  std::vector<ModuleParam> mine = nn::param_table(a.model);
  ShardMap shards;
  double shard_bytes = 0;
  for (auto& p : mine) {
    const Slice slice = slice_of(p.info, a.world, rank);
    shards[p.info.path] = {p.info.shape, slice};
    p.tensor = empty_on_huge_pages(slice.shard_shape(p.info.shape), dtype);
    shard_bytes += double(p.tensor.numel()) * double(p.tensor.element_size());
  }
  say(fmt::format(
      "[1/4] {} parameters, {:.4g} elements; rank 0 holds {:.3f} GB of {} shards", mine.size(),
      [&] {
        double n = 0;
        for (const auto& p : mine) n += double(p.info.numel());
        return n;
      }(),
      shard_bytes / 1e9, a.dtype));
  // Every rule checked once on the whole table (strict: nothing unmatched), then the shards
  // initialized block by block so that progress shows.
  const ApplyOptions options = ApplyOptions().seed(a.seed);
  std::vector<ModuleParam> described = mine;  // meta tensors: full shapes, no memory
  for (auto& p : described)
    p.tensor = at::empty(p.info.shape, at::TensorOptions().device(at::kMeta));
  const Report report = explain_params(plan, described, options);
  const auto t_init = Clock::now();
  std::vector<std::vector<size_t>> chunks;  // the embedding, each block, the rest
  for (size_t i = 0; i < mine.size(); ++i) {
    const bool new_block = chunks.empty() || mine[i].info.path.rfind("layers.", 0) != 0 ||
                           mine[i].info.path.find(".norm1.") != std::string::npos;
    if (new_block) chunks.emplace_back();
    chunks.back().push_back(i);
  }
  for (size_t c = 0; c < chunks.size(); ++c) {
    std::vector<ModuleParam> part;
    ShardMap part_shards;
    for (size_t i : chunks[c]) {
      part.push_back(mine[i]);
      part_shards.emplace(mine[i].info.path, shards.at(mine[i].info.path));
    }
    (void)apply_sharded_params(plan, part, part_shards, ApplyOptions(options).strict(false));
    if ((c + 1) % 8 == 0 || c + 1 == chunks.size())
      say(fmt::format("      init: {}/{} blocks, {:.1f} s", c + 1, chunks.size(),
                      seconds_since(t_init)));
  }
  const double init_s = seconds_since(t_init);
  ctx.barrier();
  say("[2/4] checking every parameter against its theory from merged statistics");
  const auto t_check = Clock::now();
  const CheckOptions each = CheckOptions().alpha(0.01 / double(mine.size()));  // family-wise
  double rejected = 0, inconclusive = 0, gathered = 0;
  std::ostringstream digests;
  for (size_t i = 0; i < mine.size(); ++i) {
    const ReportRow& row = report.at(mine[i].info.path);
    const Slice& slice = shards.at(mine[i].info.path).slice;
    // check_sharded's steps (merged_check.h), with the verdict computed by one rank per
    // parameter, in turn, instead of by all: its sort and CDFs of the 131072-value subsample
    // are most of a check, and the ranks share two cores.
    const bool judge = int(i % size_t(a.world)) == rank;
    std::optional<CheckResult> r;
    if (constant_from_shards(row.theory)) {
      at::Tensor differing =
          at::full({1}, double(count_not_constant(mine[i].tensor, row.theory)), at::kDouble);
      ctx.all_reduce_sum(differing, "dist-demo check (constant)");
      if (judge)
        r = check_constant_merged(row.theory, mine[i].info.numel(),
                                  int64_t(differing.item<double>()), each);
    } else if (checkable_from_shards(row.theory)) {
      const stats::Moments m = dist::all_reduce_moments(ctx, tensor_moments(mine[i].tensor));
      at::Tensor sample = shard_subsample(mine[i].tensor, mine[i].info.shape, slice, each);
      ctx.all_reduce_sum(sample, "dist-demo check (subsample)");
      if (judge) r = check_merged(row.theory, m, sample, mine[i].tensor.scalar_type(), each);
    } else {  // a theory that needs the whole tensor (none under the depth presets)
      gathered += judge;
      const CheckResult all =
          dist::check_sharded(ctx, mine[i].tensor, mine[i].info.shape, slice, row.theory, each);
      if (judge) r = all;
    }
    if (r) {
      rejected += r->rejected();
      inconclusive += r->inconclusive();
      if (r->rejected()) fmt::print("      {}: {}\n", row.path, r->summary());
    }
    if ((i + 1) % 64 == 0 || i + 1 == mine.size())
      say(fmt::format("      checked {}/{}, {:.1f} s", i + 1, mine.size(), seconds_since(t_check)));
    if (sampled(row.path, a.compare_block))
      digests << row.path << ' ' << digest(mine[i].tensor) << '\n';
  }
  const double check_s = seconds_since(t_check);
  std::ofstream(fmt::format("{}/digests.{}", dir, rank)) << digests.str();
  const RankStats s{shard_bytes, baseline, status_bytes("VmHWM"), init_s,
                    check_s,     rejected, inconclusive,          gathered};
  std::vector<double> mine_stats(reinterpret_cast<const double*>(&s),
                                 reinterpret_cast<const double*>(&s) + sizeof(s) / sizeof(double));
  const auto all = ctx.all_gather(at::tensor(mine_stats, at::kDouble), "dist-demo stats");
  if (rank == 0) {
    fmt::print("\n{:<5} {:>12} {:>14} {:>12} {:>16} {:>8} {:>8}\n", "rank", "shards GB",
               "LibTorch GB", "peak GB", "peak - both", "init s", "check s");
    for (int r = 0; r < a.world; ++r) {
      RankStats t;
      std::memcpy(&t, all[size_t(r)].data_ptr<double>(), sizeof(t));
      const double over = t.peak - t.baseline - t.shard_bytes;
      fmt::print("{:<5} {:>12.3f} {:>14.3f} {:>12.3f} {:>9.3f} ({:>+4.1f}%) {:>8.1f} {:>8.1f}\n", r,
                 t.shard_bytes / 1e9, t.baseline / 1e9, t.peak / 1e9, over / 1e9,
                 t.shard_bytes > 0 ? 100 * over / t.shard_bytes : 0.0, t.init_s, t.check_s);
    }
    double sums[3] = {0, 0, 0};  // rejected, inconclusive, gathered over the judging ranks
    for (int r = 0; r < a.world; ++r) {
      RankStats t;
      std::memcpy(&t, all[size_t(r)].data_ptr<double>(), sizeof(t));
      sums[0] += t.rejected;
      sums[1] += t.inconclusive;
      sums[2] += t.gathered;
    }
    fmt::print(
        "checks: {} parameters, {} rejected, {} inconclusive, {} needed the full tensor "
        "(family-wise alpha 0.01)\n",
        mine.size(), sums[0], sums[1], sums[2]);
  }
  return rejected == 0 ? 0 : 1;
}

// "path digest" lines of every rank's file.
std::map<std::string, std::vector<uint64_t>> read_digests(const std::string& dir, int world) {
  std::map<std::string, std::vector<uint64_t>> out;
  for (int r = 0; r < world; ++r) {
    std::ifstream in(fmt::format("{}/digests.{}", dir, r));
    std::string path;
    uint64_t d = 0;
    while (in >> path >> d) out[path].push_back(d);
    std::remove(fmt::format("{}/digests.{}", dir, r).c_str());
  }
  return out;
}

// The sampled parameters initialized whole in this process, each cut as rank r's shard and
// digested, against the ranks' digests. Returns the number of parameters compared and equal.
std::pair<int, int> compare_sample(const DistDemoArgs& a, const Plan& plan,
                                   const std::map<std::string, std::vector<uint64_t>>& got) {
  const at::ScalarType dtype = parse_dtype(a.dtype, kDistDemoWho);
  std::vector<ModuleParam> sample;
  for (auto& p : nn::param_table(a.model))
    if (sampled(p.info.path, a.compare_block)) sample.push_back(std::move(p));
  for (auto& p : sample) p.tensor = at::empty(p.info.shape, at::TensorOptions().dtype(dtype));
  (void)apply_params(plan, sample, ApplyOptions().seed(a.seed).strict(false));
  int equal = 0;
  for (const auto& p : sample) {
    bool same = got.count(p.info.path) && got.at(p.info.path).size() == size_t(a.world);
    for (int r = 0; same && r < a.world; ++r) {
      const auto ranges = slice_of(p.info, a.world, r).resolve(p.info.shape, kDistDemoWho);
      at::Tensor part = p.tensor;
      for (size_t d = 0; d < ranges.size(); ++d)
        part = part.slice(int64_t(d), ranges[d].first, ranges[d].second);
      same = digest(part) == got.at(p.info.path)[size_t(r)];
    }
    equal += same;
    if (!same)
      fmt::print("      {}: the shards differ from the single-process init\n", p.info.path);
  }
  return {int(sample.size()), equal};
}

// Orthogonal n x n, sharded w = 1 (whole), 2 (rows), 3 (columns), 4 (2 x 2 grid), each shard in
// its own process; the digests against this process's init_. Returns whether all match.
bool orthogonal_layouts(const DistDemoArgs& a, const std::string& dir) {
  const int64_t n = a.orthogonal;
  const std::vector<int64_t> full{n, n};
  const auto options = InitOptions().seed(a.seed).key("orthogonal.weight");
  auto slice_for = [&](int w, int r) {
    if (w == 2) return Slice::rows(share(n, 2, r).first, share(n, 2, r).second);
    if (w == 3) return Slice::cols(share(n, 3, r).first, share(n, 3, r).second);
    if (w == 4) {
      const auto [rb, re] = share(n, 2, r / 2);
      const auto [cb, ce] = share(n, 2, r % 2);
      return Slice::box({{rb, re}, {cb, ce}});
    }
    return Slice::all();
  };
  const char* layout[] = {"", "whole", "rows", "columns", "2 x 2 grid"};
  std::map<int, std::vector<uint64_t>> got;
  for (int w = 1; w <= 4; ++w) {
    const auto t0 = Clock::now();
    const auto codes = dist::fork_local(w, [&](int r) {
      at::set_num_threads(std::max(1, int(sysconf(_SC_NPROCESSORS_ONLN)) / w));
      const Slice slice = slice_for(w, r);
      at::Tensor shard = at::empty(slice.shard_shape(full));
      init_shard_(shard, "orthogonal", full, slice, options);
      std::ofstream(fmt::format("{}/digests.{}", dir, r)) << "orthogonal " << digest(shard) << '\n';
      return 0;
    });
    for (int c : codes)
      TORCH_CHECK(c == 0, kDistDemoWho, ": an orthogonal shard process exited with status ", c);
    got[w] = read_digests(dir, w)["orthogonal"];
    fmt::print("      orthogonal {}x{} as {} ({} process{}): {:.1f} s\n", n, n, layout[w], w,
               w == 1 ? "" : "es", seconds_since(t0));
  }
  const at::Tensor whole = init_(at::empty(full), "orthogonal", options);
  bool ok = true;
  for (int w = 1; w <= 4; ++w) {
    bool same = got[w].size() == size_t(w);
    for (int r = 0; same && r < w; ++r) {
      const auto ranges = slice_for(w, r).resolve(full, kDistDemoWho);
      same = digest(whole.slice(0, ranges[0].first, ranges[0].second)
                        .slice(1, ranges[1].first, ranges[1].second)) == got[w][size_t(r)];
    }
    fmt::print("      {:<11} {}\n", layout[w], same ? "= init_ bitwise" : "DIFFERS from init_");
    ok = ok && same;
  }
  return ok;
}

void run(const DistDemoArgs& a) {
  const auto t0 = Clock::now();
  const std::vector<ModuleParam> table = nn::param_table(a.model);  // validates the spec
  const at::ScalarType dtype = parse_dtype(a.dtype, kDistDemoWho);
  TORCH_CHECK(a.compare_block < blocks_of(table), kDistDemoWho, ": --compare-block ",
              a.compare_block, " is not a block of ", a.model, " (it has ", blocks_of(table),
              "); pick one below that");
  double bytes = 0;
  for (const auto& p : table) bytes += double(p.info.numel()) * double(c10::elementSize(dtype));
  // The shards, 10% for the buffers, LibTorch's ~0.3 GB per rank; then 4 orthogonal processes
  // with up to three n x n double matrices, their shard and kept blocks each (36 n^2 bytes).
  check_fits_in_memory("dist-demo", fmt::format("--model {} --dtype {}", a.model, a.dtype),
                       1.1 * bytes + 0.4e9 * a.world);
  check_fits_in_memory("dist-demo", fmt::format("--orthogonal {}", a.orthogonal),
                       4 * 36 * double(a.orthogonal) * double(a.orthogonal));
  const Plan plan = load_plan(a.plan, blocks_of(table));
  char tmpl[] = "/tmp/torchinit_dist_demo_XXXXXX";
  TORCH_CHECK(mkdtemp(tmpl) != nullptr, kDistDemoWho, ": cannot create a temp dir in /tmp");
  const std::string dir = tmpl;
  struct RemoveOnExit {  // the store and digest files too, also when something throws
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_on_exit{dir};
  fmt::print(
      "torchinit dist-demo: {} ranks on 127.0.0.1 (Gloo, FileStore), --model {}, --plan {}, "
      "seed {}\n",
      a.world, a.model, a.plan, a.seed);
  std::fflush(stdout);
  const auto codes =
      dist::fork_local(a.world, [&](int rank) { return run_rank(rank, a, dir, plan); });
  std::remove((dir + "/store").c_str());
  const double ranks_s = seconds_since(t0);
  fmt::print("wall time of the sharded init and check: {:.1f} s\n", ranks_s);
  for (int r = 0; r < a.world; ++r)
    TORCH_CHECK(codes[size_t(r)] == 0 || codes[size_t(r)] == 1, kDistDemoWho, ": rank ", r,
                " exited with status ", codes[size_t(r)], " (see its error above)");
  bool ok = std::all_of(codes.begin(), codes.end(), [](int c) { return c == 0; });
  const auto digests = read_digests(dir, a.world);
  // The orthogonal processes fork before this process runs any parallel region (compare_sample
  // does): a fork after OpenMP has started its threads may hang the child's first region.
  if (a.orthogonal > 0) {
    fmt::print("[3/4] orthogonal {0}x{0} sharded 1, 2, 3 and 4 ways\n", a.orthogonal);
    std::fflush(stdout);
    ok = orthogonal_layouts(a, dir) && ok;
  }
  fmt::print("[4/4] single-process references: tok_emb.weight and block {} whole\n",
             a.compare_block);
  std::fflush(stdout);
  const auto [compared, equal] = compare_sample(a, plan, digests);
  fmt::print("      {}/{} parameters: the {} shards equal the single-process init bitwise\n", equal,
             compared, a.world);
  ok = ok && equal == compared;
  fmt::print(
      "{} (total {:.1f} s)\n",
      ok ? "PASS: every check accepted, every shard equals the single-process bytes" : "FAIL",
      seconds_since(t0));
  if (!ok) throw CLI::RuntimeError(1);
}

}  // namespace

void add_dist_demo_command(CLI::App& app) {
  auto args = std::make_shared<DistDemoArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dist-demo",
      "Fork N local ranks (Gloo on 127.0.0.1); each allocates and initializes only its shards of "
      "a Llama-7B-shaped model, checks every parameter from merged statistics and reports its "
      "memory; then compare sampled parameters and a sharded orthogonal matrix bitwise with "
      "single-process inits");
  cmd->add_option("--world-size,-n", args->world, "number of ranks (processes)")
      ->transform(integer_in(1, 64))
      ->capture_default_str();
  cmd->add_option("--model", args->model,
                  "parameter table spec: llama(dim, layers, heads, hidden, vocab)")
      ->capture_default_str();
  cmd->add_option("--plan", args->plan, "preset, plan file or rules")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "float32, float64, float16 or bfloat16")
      ->capture_default_str();
  cmd->add_option("--orthogonal", args->orthogonal,
                  "side of the orthogonal matrix sharded 1-4 ways (0: skip)")
      ->transform(integer_in(0, 65'536))
      ->capture_default_str();
  cmd->add_option("--compare-block", args->compare_block,
                  "block compared whole with a single-process init")
      ->transform(integer_in(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "stream seed")
      ->transform(seed_value())
      ->capture_default_str();
  cmd->add_option("--timeout", args->timeout_s, "seconds before a collective gives up")
      ->transform(integer_in(1, 86'400))
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace torchinit::cli
