// Distributed layer on LibTorch's c10d (ProcessGroupGloo): a Context (rank, world size, process
// group over a FileStore or TCPStore rendezvous), statistics of sharded parameters merged across
// ranks, gathering shards into the full tensor, and a local launcher that forks ranks.
//
//   auto ctx = torchinit::dist::Context(torchinit::dist::ContextOptions::from_env());
//   at::Tensor shard = torch::empty({rows_per_rank, 16384});
//   auto slice = torchinit::Slice::rows(ctx.rank() * rows_per_rank,
//                                       (ctx.rank() + 1) * rows_per_rank);
//   torchinit::init_shard_(shard, "kaiming_normal", {4096, 16384}, slice, opts);
//   torchinit::CheckResult r = torchinit::dist::check_sharded(
//       ctx, shard, {4096, 16384}, slice, torchinit::theory("kaiming_normal", {4096, 16384}));
//
// Every collective fails with a c10::Error (never hangs) when a peer dies or stalls past the
// timeout; the message names the ranks that are gone when they ran on this machine.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "torchinit/check.h"
#include "torchinit/init.h"
#include "torchinit/slice.h"
#include "torchinit/stats.h"

namespace torchinit::dist {

struct ContextOptions {
  TORCH_ARG(int, rank) = 0;
  TORCH_ARG(int, world_size) = 1;
  // Single machine: a file every rank can reach (FileStore). Empty: TCPStore at master_addr.
  TORCH_ARG(std::string, file_store) = "";
  // Multi-machine: rank 0 hosts the TCPStore on master_addr:master_port.
  TORCH_ARG(std::string, master_addr) = "127.0.0.1";
  TORCH_ARG(int, master_port) = 29500;
  // The address this rank's Gloo device binds to (another host reaches it there).
  TORCH_ARG(std::string, host) = "127.0.0.1";
  // Rendezvous and every collective give up after this long.
  TORCH_ARG(std::chrono::milliseconds, timeout) = std::chrono::seconds(60);

  // RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (torchrun's names), TORCHINIT_FILE_STORE,
  // TORCHINIT_HOST and TORCHINIT_TIMEOUT_S; unset variables keep the defaults.
  static ContextOptions from_env();
};

class Context {
 public:
  // Rendezvous and process group creation; c10::Error naming the store and the timeout when the
  // other ranks do not show up in time.
  explicit Context(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int rank() const;
  int world_size() const;
  std::chrono::milliseconds timeout() const;

  // Collectives on CPU tensors (the building blocks of the functions below). `what` names the
  // operation in errors.
  void all_reduce_sum(at::Tensor& t, const char* what);
  // Every rank's `t` (same shape and dtype on every rank), in rank order.
  std::vector<at::Tensor> all_gather(const at::Tensor& t, const char* what);
  // Every rank's `t` on rank `root` (in rank order), an empty vector on the others.
  std::vector<at::Tensor> gather(const at::Tensor& t, int root, const char* what);
  void barrier(const char* what = "barrier");

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The moments of the union of every rank's sample, merged in rank order (Chan / Pébay, in
// double); equal on every rank.
stats::Moments all_reduce_moments(Context& ctx, const stats::Moments& local);

// The full parameter assembled from every rank's shard and slice (any slices that cover the
// parameter exactly once), on every rank; c10::Error if they overlap or leave a gap.
at::Tensor all_gather_full(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                           const Slice& slice);
// The same on rank `root` only (an undefined tensor on the others): 1/world of the traffic and
// memory of all_gather_full.
at::Tensor gather_full(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                       const Slice& slice, int root = 0);

// check(full tensor, theory) computed from the shards: for continuous marginals (uniform,
// normal, truncated normal) moments merged across ranks and the check's strided subsample
// assembled from the ranks that hold it, constants (zeros, ones) a count of differing elements,
// never the full tensor; other families (exact structure, orthogonal, sparse, chrono, mixtures)
// assemble the full tensor on every rank.
// The result (verdict and every statistic, up to rounding of the merge) is check()'s on the
// full tensor; equal on every rank.
CheckResult check_sharded(Context& ctx, const at::Tensor& shard, at::IntArrayRef full_shape,
                          const Slice& slice, const Distribution& theory,
                          const CheckOptions& options = {});

// Rank 0's resolve_seed(options), on every rank: an unseeded init_shard_ then draws one seed
// from rank 0's LibTorch generator instead of a different one per rank.
uint64_t agree_seed(Context& ctx, const InitOptions& options);

// Forks `world_size` processes on this machine, runs body(rank) in each (with one intra-op
// thread: ranks share the cores) and waits for all; returns each rank's exit status (the
// body's return value, 128 + signal if killed, 125 if it threw, after printing the error).
std::vector<int> fork_local(int world_size, const std::function<int(int rank)>& body);

}  // namespace torchinit::dist
