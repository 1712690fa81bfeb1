// Strict reading of plan text: UTF-8 validation, byte offsets to line and column, and JSON with
// duplicate keys and excessive nesting rejected, keys recorded so errors can point at them.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torchinit::detail {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Line and column (1-based; columns count bytes) of byte `offset` of `text`.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset);
// Offset of the first byte that does not belong to a well-formed UTF-8 sequence (no overlong
// forms, no surrogates, at most U+10FFFF), or npos.
size_t invalid_utf8(std::string_view s);
// Offset of the value after the `occurrence`-th `"key":` in JSON text, or npos.
size_t find_json_value(std::string_view text, const std::string& key, int occurrence);
// "line L, column C: " for an offset into `text`, or "" when it is npos.
std::string location(std::string_view text, size_t offset);

// A key seen while parsing: nlohmann's depth (1 for keys of the top-level object) and which
// occurrence of that key text it is, counted over the whole document (for find_json_value).
struct JsonKey {
  int depth;
  std::string key;
  int occurrence;
};

// JSON with duplicate keys rejected (nlohmann keeps the last one silently) and at most 256 levels
// of nesting. `keys`, if given, receives every key in document order so callers can point errors
// at a line and column.
nlohmann::json parse_json_strict(std::string_view text, std::vector<JsonKey>* keys = nullptr);

}  // namespace torchinit::detail
