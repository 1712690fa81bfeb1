// load_plan: a preset name, a plan file or inline rules, as the CLI's --plan takes them.
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "torchinit/plan.h"
#include "torchinit/spec.h"

namespace torchinit {
namespace {

// Largest plan file load_plan reads (a plan of 100k rules is about 4 MiB).
constexpr size_t kMaxPlanBytes = size_t{64} << 20;

}  // namespace

Plan load_plan(const std::string& text, int64_t layers) {
  const auto names = Plan::presets();
  if (std::find(names.begin(), names.end(), text) != names.end()) return Plan::preset(text, layers);
  std::error_code ec;
  const auto status = std::filesystem::status(text, ec);
  if (std::filesystem::exists(status)) {
    TORCH_CHECK(!std::filesystem::is_directory(status), "torchinit::load_plan: '", text,
                "' is a directory; pass a plan file (text or JSON rules), a preset or rules");
    std::ifstream file(text, std::ios::binary);
    const int open_errno = errno;
    TORCH_CHECK(file.is_open(), "torchinit::load_plan: cannot open '", text,
                "': ", std::strerror(open_errno), "; check the path and its permissions");
    // Read at most kMaxPlanBytes + 1 bytes: /dev/zero or an endless pipe must not fill memory.
    std::string contents;
    char chunk[1 << 16];
    while (contents.size() <= kMaxPlanBytes && file.read(chunk, sizeof chunk).gcount() > 0)
      contents.append(chunk, static_cast<size_t>(file.gcount()));
    TORCH_CHECK(!file.bad(), "torchinit::load_plan: cannot read '", text,
                "': ", std::strerror(errno), "; check the file");
    TORCH_CHECK(contents.size() <= kMaxPlanBytes, "torchinit::load_plan: '", text,
                "' is larger than ", kMaxPlanBytes >> 20,
                " MiB; a plan is a list of rules (a few kilobytes), pass the plan file");
    try {
      return Plan::parse(contents);
    } catch (const c10::Error& e) {
      TORCH_CHECK(false, "torchinit::load_plan: in '", text, "': ", e.what_without_backtrace());
    }
  }
  TORCH_CHECK(text.find('=') != std::string::npos, "torchinit::load_plan: '", text,
              "' is neither a preset (", fmt::format("{}", fmt::join(names, ", ")), "),",
              did_you_mean(text, names),
              " an existing file, nor rules like ':weight = xavier_uniform'");
  std::string rules = text;
  std::replace(rules.begin(), rules.end(), ';', '\n');
  return Plan::parse(rules);
}

}  // namespace torchinit
