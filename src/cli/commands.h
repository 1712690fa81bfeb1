// The torchinit command-line tool: one function per verb registers its subcommand.
#pragma once

#include <c10/core/ScalarType.h>

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

namespace torchinit::cli {

void add_list_command(CLI::App& app);
void add_explain_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_propagate_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_coordcheck_command(CLI::App& app);
void add_dist_demo_command(CLI::App& app);  // only with TORCHINIT_BUILD_DISTRIBUTED

// float32, float64, float16 or bfloat16; c10::Error naming `command` otherwise.
at::ScalarType parse_dtype(const std::string& name, std::string_view command);

}  // namespace torchinit::cli
