// torchinit: list initializers, explain what a spec does to a tensor, check it against theory.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "torchinit/spec.h"

int main(int argc, char** argv) {
  CLI::App app{"torchinit: named, deterministic, verified weight initialization for LibTorch"};
  app.require_subcommand(1);
  torchinit::cli::add_list_command(app);
  torchinit::cli::add_explain_command(app);
  torchinit::cli::add_check_command(app);
  torchinit::cli::add_propagate_command(app);
  torchinit::cli::add_demo_command(app);
  torchinit::cli::add_bench_command(app);
#ifdef TORCHINIT_HAS_DISTRIBUTED
  torchinit::cli::add_dist_demo_command(app);
#endif
  // CLI11 reports an unknown verb as "A subcommand is required"; name it and suggest one.
  std::vector<std::string> verbs;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    verbs.push_back(sub->get_name());
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(verbs.begin(), verbs.end(), argv[1]) == verbs.end()) {
    fmt::print(stderr, "error: unknown command '{}';{} commands: {} (--help for more)\n", argv[1],
               torchinit::did_you_mean(argv[1], verbs), fmt::join(verbs, ", "));
    return 2;
  }
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
