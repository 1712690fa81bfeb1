// The torchinit command-line tool: one function per verb registers its subcommand.
#pragma once

#include <CLI/CLI.hpp>

namespace torchinit::cli {

void add_list_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_propagate_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_dist_demo_command(CLI::App& app);  // only with TORCHINIT_BUILD_DISTRIBUTED

}  // namespace torchinit::cli
