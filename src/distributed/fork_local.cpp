// fork_local: N ranks as forked processes of this one (tests, dist-demo).
#include <ATen/Parallel.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>

#include "torchinit/distributed.h"

namespace torchinit::dist {

std::vector<int> fork_local(int world_size, const std::function<int(int rank)>& body) {
  TORCH_CHECK(world_size >= 1, "torchinit::dist::fork_local: world_size must be >= 1, got ",
              world_size);
  std::fflush(nullptr);  // the children would flush the parent's buffered output again
  std::vector<pid_t> pids;
  for (int r = 0; r < world_size; ++r) {
    const pid_t pid = fork();
    TORCH_CHECK(pid >= 0, "torchinit::dist::fork_local: fork failed for rank ", r);
    if (pid == 0) {
      // One OpenMP thread: the ranks share the cores, and a forked libgomp cannot reuse the
      // parent's thread pool.
      at::set_num_threads(1);
      // A write to a dead peer's socket must be an error that names it (Context's message), not
      // a SIGPIPE that kills this rank too: Gloo's TCP writes do not all pass MSG_NOSIGNAL.
      std::signal(SIGPIPE, SIG_IGN);
      int code = 125;
      try {
        code = body(r);
      } catch (const c10::Error& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what_without_backtrace());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      }
      std::fflush(nullptr);
      _exit(code);  // no atexit handlers or static destructors of the parent's state
    }
    pids.push_back(pid);
  }
  std::vector<int> codes(world_size, -1);
  for (int r = 0; r < world_size; ++r) {
    int status = 0;
    waitpid(pids[r], &status, 0);
    codes[r] = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1);
  }
  return codes;
}

}  // namespace torchinit::dist
