// torchinit: list initializers, explain what a spec does to a tensor, check it against theory.
// Exit status: 0 done, 1 a check failed, 2 bad input or a failure to read or write (one `error:`
// line on stderr says what and how to fix it; never an uncaught exception).
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "cli/commands.h"
#include "torchinit/spec.h"

namespace {

// The verb on the command line ("" when none was parsed), for the --help hint.
std::string parsed_verb(const CLI::App& app) {
  const auto subs = app.get_subcommands();
  return subs.empty() ? "" : subs.front()->get_name() + " ";
}

int fail(const std::string& message) {
  fmt::print(stderr, "error: {}\n", message);
  return 2;
}

// The error of a write to stdout that failed inside a verb (fmt throws std::system_error).
int stdout_errno = 0;

// Output lost to a failed write (`> /dev/full`) is an error, not success: stdout is flushed here
// and its error flag checked.
int finish_stdout(int status) {
  errno = 0;
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return status;
  const int write_errno = errno != 0 ? errno : stdout_errno != 0 ? stdout_errno : EIO;
  return fail(fmt::format("cannot write to standard output: {}; check the disk or the pipe",
                          std::strerror(write_errno)));
}

int run(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // thrown by a verb whose check failed: its output said why
  } catch (const CLI::Error& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --help-all
    return fail(fmt::format("{} (torchinit {}--help for usage)", e.what(), parsed_verb(app)));
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return fail("out of memory; use smaller sizes");
  } catch (const std::system_error& e) {
    if (!std::ferror(stdout)) return fail(e.what());  // e.g. std::filesystem_error
    stdout_errno = e.code().value();  // fmt's "cannot write to file": finish_stdout says so
    return 2;
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown failure (an exception that is not a std::exception)");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"torchinit: named, deterministic, verified weight initialization for LibTorch"};
  app.require_subcommand(1);
  torchinit::cli::add_list_command(app);
  torchinit::cli::add_explain_command(app);
  torchinit::cli::add_check_command(app);
  torchinit::cli::add_propagate_command(app);
  torchinit::cli::add_demo_command(app);
  torchinit::cli::add_bench_command(app);
  torchinit::cli::add_coordcheck_command(app);
#ifdef TORCHINIT_HAS_DISTRIBUTED
  torchinit::cli::add_dist_demo_command(app);
#endif
  // CLI11 reports an unknown verb as "A subcommand is required"; name it and suggest one.
  std::vector<std::string> verbs;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    verbs.push_back(sub->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(verbs.begin(), verbs.end(), argv[1]) == verbs.end()) {
    return fail(fmt::format("unknown command '{}';{} commands: {} (--help for more)", argv[1],
                            torchinit::did_you_mean(argv[1], verbs), fmt::join(verbs, ", ")));
  }
  return finish_stdout(run(app, argc, argv));
}
