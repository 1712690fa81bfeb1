// Context: rendezvous over a c10d FileStore or TCPStore and a ProcessGroupGloo on top; every
// collective is wrapped so that a dead or stalled peer becomes a c10::Error naming the ranks
// that are gone (when they ran on this machine) instead of a bare Gloo I/O error.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "torchinit/distributed.h"

namespace torchinit::dist {
namespace {

std::string this_host() {
  char name[256] = {0};
  gethostname(name, sizeof name - 1);
  return name;
}

// True when `pid` is gone, a zombie (killed, not yet reaped by its parent) or exiting: a killed
// process closes its sockets during exit, before it turns into a zombie, so its peers can see
// the connection reset while /proc still shows it running; PF_EXITING (0x4 in the flags, field 9
// of /proc/<pid>/stat) is set from the start of its exit.
bool process_dead(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  const char state = line[close + 2];
  if (state == 'Z' || state == 'X' || state == 'x') return true;
  // After ") ": state ppid pgrp session tty_nr tpgid flags …
  std::istringstream fields(line.substr(close + 2));
  std::string skip;
  unsigned long flags = 0;
  for (int i = 0; i < 6; ++i) fields >> skip;
  return (fields >> flags) && (flags & 0x4) != 0;
}

std::string first_line(const char* what) {
  std::string s(what);
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

struct Context::Impl {
  ContextOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  // "rank 2 (pid 1234) is gone": the ranks registered on this host whose process is dead.
  std::string peers_report() {
    std::vector<std::string> dead, remote;
    const std::string host = this_host();
    for (int r = 0; r < options.world_size(); ++r) {
      if (r == options.rank()) continue;
      std::string who;
      try {
        const auto bytes = store->get(fmt::format("torchinit/rank/{}", r));
        who.assign(bytes.begin(), bytes.end());
      } catch (const std::exception&) {
        return "the rendezvous store is unreachable (rank 0 hosts a TCPStore: it may be the one "
               "that died)";
      }
      const auto space = who.rfind(' ');
      const std::string peer_host = who.substr(0, space);
      const long pid = std::atol(who.c_str() + space + 1);
      if (peer_host != host)
        remote.push_back(std::to_string(r));
      else if (process_dead(pid))
        dead.push_back(fmt::format("rank {} (pid {})", r, pid));
    }
    std::string out = dead.empty() ? "no rank on this host has died, a peer stalled"
                                   : fmt::format("{} died", fmt::join(dead, ", "));
    if (!remote.empty())
      out += fmt::format("; ranks {} run on other hosts, check them", fmt::join(remote, ", "));
    return out;
  }

  template <typename F>
  void guarded(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      TORCH_CHECK(false, "torchinit::dist: ", what, " failed on rank ", options.rank(), " of ",
                  options.world_size(), " (timeout ", options.timeout().count(),
                  " ms): ", peers_report(), ". Gloo: ", first_line(e.what()),
                  "; restart every rank (a process group cannot lose a member)");
    }
  }
};

ContextOptions ContextOptions::from_env() {
  ContextOptions o;
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != 0 ? v : nullptr;
  };
  auto integer = [&](const char* name, long lo, long hi, long fallback) {
    const char* v = env(name);
    if (v == nullptr) return fallback;
    char* end = nullptr;
    const long x = std::strtol(v, &end, 10);
    TORCH_CHECK(*end == 0 && x >= lo && x <= hi,
                "torchinit::dist::ContextOptions::from_env: ", name, "='", v,
                "' is not an integer in [", lo, ", ", hi, "]; fix the variable");
    return x;
  };
  o.world_size(int(integer("WORLD_SIZE", 1, 1 << 20, 1)));
  o.rank(int(integer("RANK", 0, o.world_size() - 1, 0)));
  if (const char* v = env("MASTER_ADDR")) o.master_addr(v);
  o.master_port(int(integer("MASTER_PORT", 1, 65535, 29500)));
  if (const char* v = env("TORCHINIT_FILE_STORE")) o.file_store(v);
  if (const char* v = env("TORCHINIT_HOST")) o.host(v);
  o.timeout(std::chrono::seconds(integer("TORCHINIT_TIMEOUT_S", 1, 86400, 60)));
  return o;
}

Context::Context(const ContextOptions& o) : impl_(std::make_unique<Impl>()) {
  constexpr const char* who = "torchinit::dist::Context";
  TORCH_CHECK(o.world_size() >= 1 && o.rank() >= 0 && o.rank() < o.world_size(), who,
              ": needs 0 <= rank < world_size, got rank ", o.rank(), ", world_size ",
              o.world_size(), "; set RANK and WORLD_SIZE");
  TORCH_CHECK(o.timeout().count() > 0, who, ": the timeout must be > 0, got ", o.timeout().count(),
              " ms");
  impl_->options = o;
  const std::string where = o.file_store().empty()
                                ? fmt::format("TCPStore {}:{}", o.master_addr(), o.master_port())
                                : "FileStore " + o.file_store();
  try {
    if (!o.file_store().empty()) {
      impl_->store = c10::make_intrusive<c10d::FileStore>(o.file_store(), o.world_size());
    } else {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(o.master_port());
      so.isServer = o.rank() == 0;
      so.numWorkers = o.world_size();
      so.timeout = o.timeout();
      impl_->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr(), so);
    }
    impl_->store->setTimeout(o.timeout());
    const std::string me = fmt::format("{} {}", this_host(), long(getpid()));
    impl_->store->set(fmt::format("torchinit/rank/{}", o.rank()),
                      std::vector<uint8_t>(me.begin(), me.end()));
    auto gloo = c10d::ProcessGroupGloo::Options::create(o.timeout());
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.host()));
    gloo->threads = 1;
    impl_->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, o.rank(), o.world_size(), gloo);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, who, ": rank ", o.rank(), " of ", o.world_size(),
                " could not meet the others at ", where, " within ", o.timeout().count(),
                " ms: ", first_line(e.what_without_backtrace()),
                "; start every rank with the same store and world size");
  } catch (const std::exception& e) {
    TORCH_CHECK(false, who, ": rank ", o.rank(), " of ", o.world_size(),
                " could not meet the others at ", where, " within ", o.timeout().count(),
                " ms: ", first_line(e.what()),
                "; start every rank with the same store and world size");
  }
}

Context::~Context() = default;

int Context::rank() const { return impl_->options.rank(); }
int Context::world_size() const { return impl_->options.world_size(); }
std::chrono::milliseconds Context::timeout() const { return impl_->options.timeout(); }

void Context::all_reduce_sum(at::Tensor& t, const char* what) {
  impl_->guarded(what, [&] {
    std::vector<at::Tensor> ts{t};
    impl_->group->allreduce(ts)->wait();
  });
}

std::vector<at::Tensor> Context::all_gather(const at::Tensor& t, const char* what) {
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_size(); ++r) out[0].push_back(at::empty_like(t));
  impl_->guarded(what, [&] {
    std::vector<at::Tensor> in{t.contiguous()};
    impl_->group->allgather(out, in)->wait();
  });
  return out[0];
}

std::vector<at::Tensor> Context::gather(const at::Tensor& t, int root, const char* what) {
  TORCH_CHECK(root >= 0 && root < world_size(), "torchinit::dist: ", what, ": root ", root,
              " is not a rank of ", world_size());
  std::vector<std::vector<at::Tensor>> out;
  if (rank() == root) {
    out.emplace_back();
    for (int r = 0; r < world_size(); ++r) out[0].push_back(at::empty_like(t));
  }
  impl_->guarded(what, [&] {
    std::vector<at::Tensor> in{t.contiguous()};
    c10d::GatherOptions options;
    options.rootRank = root;
    impl_->group->gather(out, in, options)->wait();
  });
  return out.empty() ? std::vector<at::Tensor>{} : out[0];
}

void Context::barrier(const char* what) {
  impl_->guarded(what, [&] { impl_->group->barrier()->wait(); });
}

}  // namespace torchinit::dist
