#include "cli/options.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "cli/commands.h"

namespace torchinit::cli {
namespace {

// Decimal text: an optional '-' and digits (spaces around are trimmed). Returns the magnitude
// and its sign, or nullopt when the text is not a decimal integer or its magnitude overflows.
struct Decimal {
  bool negative;
  uint64_t magnitude;
};
std::optional<Decimal> parse_decimal(std::string_view text) {
  const size_t b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
  if (b == std::string_view::npos) return std::nullopt;
  text = text.substr(b, e - b + 1);
  const bool negative = text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(value, uint64_t{10}, &value) ||
        __builtin_add_overflow(value, uint64_t(c - '0'), &value))
      return std::nullopt;
  }
  return Decimal{negative, value};
}

bool all_digits_and_sign(std::string_view text) {
  const size_t b = text.find_first_not_of(" \t"), e = text.find_last_not_of(" \t");
  if (b == std::string_view::npos) return false;
  text = text.substr(b, e - b + 1);
  if (text[0] == '-') text.remove_prefix(1);
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string integer_error(const std::string& input, const std::string& range,
                          bool overflow = false) {
  return fmt::format("expected an integer in {}, got '{}'{}", range, input,
                     overflow ? " (too large)" : "");
}

std::vector<int64_t> parse_shape(const std::string& name, const std::string& text) {
  const auto fail = [&](const std::string& why) {
    throw CLI::ValidationError(name, fmt::format("'{}': {}; write positive sizes separated by "
                                                 "commas, e.g. {} 64,32,3,3",
                                                 text, why, name));
  };
  std::vector<int64_t> shape;
  int64_t numel = 1;
  size_t pos = 0;
  while (true) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string entry = text.substr(pos, comma - pos);
    const size_t index = shape.size() + 1;
    if (entry.find_first_not_of(" \t") == std::string::npos)
      fail(fmt::format("entry {} is empty", index));
    const auto d = parse_decimal(entry);
    if (!d) {
      fail(fmt::format("entry {} ('{}') is {}", index, entry,
                       all_digits_and_sign(entry) ? "too large" : "not an integer"));
    } else if (d->negative || d->magnitude == 0) {
      fail(fmt::format("entry {} ({}) is not positive", index, entry));
    } else if (d->magnitude > uint64_t(INT64_MAX) ||
               __builtin_mul_overflow(numel, int64_t(d->magnitude), &numel)) {
      fail("the element count does not fit in int64 (2^63 - 1)");
    }
    shape.push_back(int64_t(d->magnitude));
    if (shape.size() > kMaxShapeDims) fail(fmt::format("more than {} dimensions", kMaxShapeDims));
    if (comma == text.size()) break;
    pos = comma + 1;
  }
  return shape;
}

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  const std::string range = fmt::format("[{}, {}]", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& input) -> std::string {
        const auto d = parse_decimal(input);
        if (!d) return integer_error(input, range, all_digits_and_sign(input));
        const bool fits = d->negative ? d->magnitude <= uint64_t(INT64_MAX) + 1
                                      : d->magnitude <= uint64_t(INT64_MAX);
        if (!fits) return integer_error(input, range, true);
        const int64_t v = d->negative ? int64_t(0 - d->magnitude) : int64_t(d->magnitude);
        if (v < lo || v > hi) return integer_error(input, range);
        input = std::to_string(v);  // CLI11 would read a leading 0 as octal
        return "";
      },
      "in " + range);
}

CLI::Validator seed_value() {
  const std::string range = fmt::format("[0, {}]", UINT64_MAX);
  return CLI::Validator(
      [range](std::string& input) -> std::string {
        const auto d = parse_decimal(input);
        if (!d || (d->negative && d->magnitude != 0))
          return integer_error(input, range, !d && all_digits_and_sign(input));
        input = std::to_string(d->magnitude);
        return "";
      },
      "in [0, 2^64-1]");
}

CLI::Validator number_in(double lo, double hi, bool closed) {
  const std::string range =
      closed ? fmt::format("[{}, {}]", lo, hi) : fmt::format("({}, {})", lo, hi);
  return CLI::Validator(
      [lo, hi, closed, range](std::string& input) -> std::string {
        const char* begin = input.c_str();
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(begin, &end);
        const bool number = end != begin && *end == '\0' && errno != ERANGE;
        const bool inside = closed ? v >= lo && v <= hi : v > lo && v < hi;
        if (!number || !std::isfinite(v) || !inside)
          return fmt::format("expected a finite number in {}, got '{}'", range, input);
        return "";
      },
      "in " + range);
}

CLI::Option* add_shape_option(CLI::App& cmd, const std::string& name, std::vector<int64_t>& shape,
                              const std::string& help) {
  return cmd
      .add_option_function<std::string>(
          name, [&shape, name](const std::string& text) { shape = parse_shape(name, text); }, help)
      ->type_name("N,N,...");
}

int64_t max_threads() { return 4 * std::max<int64_t>(1, std::thread::hardware_concurrency()); }

void check_fits_in_memory(std::string_view command, const std::string& what, double bytes) {
  const double memory = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
  TORCH_CHECK(memory <= 0 || bytes <= memory, "torchinit ", command, ": ", what, " needs ",
              fmt::format("{:.3g}", bytes / 1e9), " GB, more than this machine's ",
              fmt::format("{:.3g}", memory / 1e9), " GB of memory; use smaller sizes");
}

void check_tensor_fits(std::string_view command, std::string_view option,
                       const std::vector<int64_t>& shape, const std::string& dtype) {
  double bytes = double(c10::elementSize(parse_dtype(dtype, command)));
  for (const int64_t s : shape) bytes *= double(s);
  check_fits_in_memory(command, fmt::format("{} {} ({})", option, fmt::join(shape, ","), dtype),
                       bytes);
}

void add_sweep_size_options(CLI::App& cmd, int64_t& depth, int64_t& width) {
  cmd.add_option("--depth", depth, "Depth of the sweep's MLPs")
      ->transform(integer_in(1, kMaxSweepDepth))
      ->capture_default_str();
  cmd.add_option("--width", width, "Width of the sweep's MLPs")
      ->transform(integer_in(1, kMaxSweepWidth))
      ->capture_default_str();
}

void check_sweep_fits(std::string_view command, const DepthSweepOptions& options) {
  check_fits_in_memory(command,
                       fmt::format("the depth sweep at --depth {} --width {} (batch {})",
                                   options.depth, options.width, options.batch),
                       depth_sweep_bytes(options));
}

void check_parent_folder(std::string_view command, const std::filesystem::path& path) {
  const std::filesystem::path parent =
      path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::error_code ec;
  TORCH_CHECK(std::filesystem::is_directory(parent, ec), "torchinit ", command, ": cannot write '",
              path.string(), "': '", parent.string(),
              "' is not a folder; create it or pick another path");
}

void write_text_file(std::string_view command, const std::filesystem::path& path,
                     const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  const int open_errno = errno;
  TORCH_CHECK(out.is_open(), "torchinit ", command, ": cannot write '", path.string(),
              "': ", std::strerror(open_errno), "; check the path and its permissions");
  out << text;
  out.close();
  TORCH_CHECK(!out.fail(), "torchinit ", command, ": writing '", path.string(),
              "' failed (disk full?); ", text.size(), " bytes were to be written");
}

}  // namespace torchinit::cli
