// torchinit::dist on forked local ranks (loopback Gloo, FileStore in a temp dir): world sizes
// 1-4, uneven rows / cols / flat shards (all-)gathered bitwise equal to the full init_,
// check_sharded equal to check() on the full tensor, and a killed rank (also one killed in the
// middle of orthogonal) making the others fail, naming it, within the configured timeout. Ranks
// report through their exit status (gtest lives in the parent) and print what differed.
#include <ATen/Context.h>
#include <ATen/Functions.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "torchinit/distributed.h"
#include "torchinit/shard.h"

namespace {

using namespace std::chrono_literals;
using torchinit::InitOptions;
using torchinit::Slice;
using torchinit::dist::Context;
using torchinit::dist::ContextOptions;
using Shape = std::vector<int64_t>;

// A fresh FileStore path per world.
std::string store_path() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/torchinit_dist_XXXXXX";
    const char* d = mkdtemp(tmpl);
    return std::string(d == nullptr ? "/tmp" : d);
  }();
  static int count = 0;
  return dir + "/store" + std::to_string(count++);
}

// Uneven split of [0, n) over w ranks: rank r gets a share proportional to r + 1.
std::pair<int64_t, int64_t> piece(int64_t n, int w, int r) {
  auto bound = [&](int64_t k) { return n * k * (k + 1) / (int64_t(w) * (w + 1)); };
  return {bound(r), bound(r + 1)};
}

// Rank-side failure report: prints and counts.
struct Failures {
  int rank;
  int count = 0;
  void operator()(bool ok, const std::string& what) {
    if (ok) return;
    ++count;
    std::fprintf(stderr, "rank %d: %s\n", rank, what.c_str());
  }
};

bool close(double a, double b, double rel) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::abs(a - b) <= rel * std::max(1.0, std::max(std::abs(a), std::abs(b)));
}

// check_sharded's result against check()'s: verdict, and every statistic's value and p.
std::string compare_checks(const torchinit::CheckResult& got, const torchinit::CheckResult& want) {
  if (got.passed() != want.passed() || got.inconclusive() != want.inconclusive() ||
      got.n() != want.n() || got.statistics().size() != want.statistics().size())
    return "verdict differs: " + got.summary() + " vs " + want.summary();
  for (size_t i = 0; i < got.statistics().size(); ++i) {
    const auto &g = got.statistics()[i], &w = want.statistics()[i];
    if (g.name != w.name || g.passed != w.passed || !close(g.value, w.value, 1e-9) ||
        !close(g.p_value, w.p_value, 1e-6))
      return "statistic differs: " + g.detail + " vs " + w.detail;
  }
  return "";
}

struct DistCase {
  std::string spec;
  Shape full;
};

int run_rank(int rank, int world, const std::string& store) {
  Context ctx(ContextOptions().rank(rank).world_size(world).file_store(store).timeout(20s));
  Failures fail{rank};
  fail(ctx.rank() == rank && ctx.world_size() == world, "rank / world size");
  const std::vector<DistCase> cases = {
      {"xavier_uniform(gain=relu)", {61, 45}},
      {"kaiming_normal(mode=fan_out, nonlinearity=relu)", {40, 12, 3, 3}},
      {"trunc_normal(std=0.02, a=-0.04, b=0.04)", {61, 45}},
      {"normal(mean=1, std=2)", {2001}},
      {"orthogonal", {45, 61}},
      {"sparse(sparsity=0.3)", {61, 45}},
      {"delta_orthogonal", {16, 8, 3, 3}},
      {"chrono(t_max=10)", {400}},
      {"eye", {61, 45}},
      {"zeros", {13, 7}},
      {"constant(val=0.3)", {29, 11}},  // 0.3 as float32 rounds: compared as stored
  };
  for (const auto& c : cases) {
    const auto opts = InitOptions()
                          .seed(torchinit::dist::agree_seed(ctx, InitOptions().seed(31)))
                          .key("p." + c.spec);
    const at::Tensor full = torchinit::init_(at::empty(c.full), c.spec, opts);
    int64_t numel = full.numel();
    std::vector<Slice> slices;
    {
      auto [b, e] = piece(c.full[0], world, rank);
      slices.push_back(Slice::rows(b, e));
    }
    if (c.full.size() >= 2) {
      auto [b, e] = piece(c.full[1], world, rank);
      slices.push_back(Slice::cols(b, e));
    }
    {
      auto [b, e] = piece(numel, world, rank);
      slices.push_back(Slice::flat(b, e));
    }
    const auto theory = torchinit::theory(c.spec, c.full);
    for (const Slice& slice : slices) {
      const std::string what = c.spec + " " + slice.str() + " world " + std::to_string(world);
      at::Tensor shard = at::empty(slice.shard_shape(c.full));
      torchinit::init_shard_(shard, c.spec, c.full, slice, opts);
      const at::Tensor gathered = torchinit::dist::all_gather_full(ctx, shard, c.full, slice);
      fail(torchinit::testutil::same_bytes(gathered, full), what + ": gathered != full init_");
      const int root = world - 1;  // gather_full: the full tensor on the root only
      const at::Tensor rooted = torchinit::dist::gather_full(ctx, shard, c.full, slice, root);
      fail(rank == root ? torchinit::testutil::same_bytes(rooted, full) : !rooted.defined(),
           what + ": gather_full to rank " + std::to_string(root));
      for (int64_t m : {int64_t(1) << 17, int64_t(1000)}) {  // whole sample, strided subsample
        const auto opt = torchinit::CheckOptions().shape_sample(m);
        const std::string diff =
            compare_checks(torchinit::dist::check_sharded(ctx, shard, c.full, slice, theory, opt),
                           torchinit::check(full, theory, opt));
        fail(diff.empty(), what + " shape_sample " + std::to_string(m) + ": " + diff);
      }
    }
  }
  // The merged moments equal the full tensor's (up to the merge's rounding).
  const at::Tensor x = torchinit::init_(at::empty({1003}), "normal(mean=3)", InitOptions().seed(2));
  const auto [b, e] = piece(1003, world, rank);
  const auto merged = torchinit::dist::all_reduce_moments(
      ctx, b < e ? torchinit::tensor_moments(x.narrow(0, b, e - b)) : torchinit::stats::Moments{});
  const auto whole = torchinit::tensor_moments(x);
  fail(merged.n == whole.n && close(merged.mean, whole.mean, 1e-14) &&
           close(merged.m2, whole.m2, 1e-12) && close(merged.m4, whole.m4, 1e-11),
       "merged moments differ from the full tensor's");
  return fail.count == 0 ? 0 : 1;
}

TEST(Dist, WorldSizes1To4ShardsGatherBitwiseAndCheckAsTheFullTensor) {
  for (int world = 1; world <= 4; ++world) {
    const std::string store = store_path();
    const auto codes =
        torchinit::dist::fork_local(world, [&](int rank) { return run_rank(rank, world, store); });
    for (int r = 0; r < world; ++r) EXPECT_EQ(codes[r], 0) << "rank " << r << " of " << world;
  }
}

TEST(Dist, AgreeSeedGivesRankZerosSeedEverywhere) {
  const std::string store = store_path();
  const auto codes = torchinit::dist::fork_local(3, [&](int rank) {
    Context ctx(ContextOptions().rank(rank).world_size(3).file_store(store).timeout(20s));
    at::manual_seed(100 + rank);  // unseeded init would differ per rank
    const uint64_t seed = torchinit::dist::agree_seed(ctx, InitOptions());
    int64_t bits;
    std::memcpy(&bits, &seed, sizeof bits);
    const auto all = ctx.all_gather(at::tensor(std::vector<int64_t>{bits}, at::kLong), "test");
    at::manual_seed(100);
    const uint64_t rank0 = torchinit::resolve_seed(InitOptions());
    for (const auto& t : all)
      if (t.item<int64_t>() != bits) return 1;
    return seed == rank0 ? 0 : 2;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0}));
}

// A rank killed mid-run: the others fail with an error naming it within the timeout (3 s).
TEST(Dist, AKilledRankMakesTheOthersFailNamingItWithinTheTimeout) {
  const std::string store = store_path();
  const auto codes = torchinit::dist::fork_local(3, [&](int rank) {
    Context ctx(ContextOptions().rank(rank).world_size(3).file_store(store).timeout(3s));
    ctx.barrier();
    if (rank == 2) raise(SIGKILL);
    const auto start = std::chrono::steady_clock::now();
    std::string message;
    try {
      for (int i = 0; i < 1000; ++i) {
        at::Tensor t = at::ones({1000});
        ctx.all_reduce_sum(t, "all_reduce in the test");
      }
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Failures fail{rank};
    fail(!message.empty(), "no error after rank 2 died");
    for (const char* part : {"torchinit::dist: all_reduce in the test failed", "rank 2 (pid",
                             "died", "timeout 3000 ms"})
      fail(message.find(part) != std::string::npos,
           std::string("message lacks '") + part + "': " + message);
    // The timeout plus scheduling slack: on a loaded 2-core machine the survivors' threads can
    // wait seconds for a core (1 s of slack failed 1 run in 3 there); a hang would take 1000
    // all_reduces of 3 s each.
    fail(seconds < 3.0 + 7.0, "failed after " + std::to_string(seconds) + " s");
    return fail.count == 0 ? 0 : 1;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 128 + SIGKILL}));
}

// A rank killed in the middle of its orthogonal shard: orthogonal needs no communication (each
// rank factorizes alone), so the survivors finish their shards; the collective after it
// (check_sharded) fails naming the dead rank within the timeout, never hangs.
TEST(Dist, ARankKilledMidOrthogonalMakesTheNextCollectiveFailNamingIt) {
  const std::string store = store_path();
  const Shape full = {1536, 1536};
  const auto codes = torchinit::dist::fork_local(3, [&](int rank) {
    Context ctx(ContextOptions().rank(rank).world_size(3).file_store(store).timeout(3s));
    ctx.barrier();
    if (rank == 2) {  // killed 20 ms into its factorization (which takes about 0.3 s)
      std::thread([] {
        std::this_thread::sleep_for(20ms);
        raise(SIGKILL);
      }).detach();
    }
    const auto [b, e] = piece(full[0], 3, rank);
    at::Tensor shard = at::empty({e - b, full[1]});
    torchinit::init_shard_(shard, "orthogonal", full, Slice::rows(b, e),
                           InitOptions().seed(4).key("w"));
    const auto start = std::chrono::steady_clock::now();
    std::string message;
    try {
      (void)torchinit::dist::check_sharded(ctx, shard, full, Slice::rows(b, e),
                                           torchinit::theory("orthogonal", full));
    } catch (const c10::Error& err) {
      message = err.what_without_backtrace();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Failures fail{rank};
    fail(!message.empty(), "no error after rank 2 died");
    for (const char* part : {"rank 2 (pid", "died", "timeout 3000 ms"})
      fail(message.find(part) != std::string::npos,
           std::string("message lacks '") + part + "': " + message);
    fail(seconds < 3.0 + 7.0, "failed after " + std::to_string(seconds) + " s");  // as above
    return fail.count == 0 ? 0 : 1;
  });
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 128 + SIGKILL}));
}

TEST(Dist, ContextErrorsSayWhatToFix) {
  using torchinit::testutil::ContainsAll;
  using torchinit::testutil::error_of;
  EXPECT_TRUE(ContainsAll(error_of([] { Context(ContextOptions().rank(3).world_size(2)); }),
                          {"torchinit::dist::Context", "rank 3", "world_size 2"}));
  // Rank 1 never comes: the rendezvous gives up after the timeout.
  const auto start = std::chrono::steady_clock::now();
  const std::string store = store_path();
  EXPECT_TRUE(
      ContainsAll(error_of([&] {
                    Context(ContextOptions().rank(0).world_size(2).file_store(store).timeout(1s));
                  }),
                  {"torchinit::dist::Context", "could not meet", "FileStore", "1000 ms"}));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

}  // namespace
