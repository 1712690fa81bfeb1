// torchinit: list initializers, explain what a spec does to a tensor, check it against theory.
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"torchinit: named, deterministic, verified weight initialization for LibTorch"};
  app.require_subcommand(1);
  torchinit::cli::add_list_command(app);
  torchinit::cli::add_explain_command(app);
  torchinit::cli::add_check_command(app);
  torchinit::cli::add_propagate_command(app);
  torchinit::cli::add_demo_command(app);
#ifdef TORCHINIT_HAS_DISTRIBUTED
  torchinit::cli::add_dist_demo_command(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const c10::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what_without_backtrace());
    return 2;
  }
  return 0;
}
