#include "plans/json_text.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <map>
#include <set>

namespace torchinit::detail {

// Line and column (1-based; columns count bytes) of byte `offset` of `text`.
std::pair<size_t, size_t> line_column(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Offset of the first byte that does not belong to a well-formed UTF-8 sequence (no overlong
// forms, no surrogates, at most U+10FFFF), or npos.
size_t invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

namespace {
// Offset of the `occurrence`-th (1-based) `"key"` followed by ':' in JSON text, or npos.
size_t find_json_key(std::string_view text, const std::string& key, int occurrence) {
  const std::string quoted = "\"" + key + "\"";
  for (size_t at = text.find(quoted); at != std::string_view::npos;
       at = text.find(quoted, at + 1)) {
    const size_t after = text.find_first_not_of(" \t\r\n", at + quoted.size());
    if (after != std::string_view::npos && text[after] == ':' && --occurrence == 0) return at;
  }
  return std::string_view::npos;
}
}  // namespace

// Offset of the value after the `occurrence`-th `"key":` in JSON text, or npos.
size_t find_json_value(std::string_view text, const std::string& key, int occurrence) {
  const size_t at = find_json_key(text, key, occurrence);
  if (at == std::string_view::npos) return at;
  const size_t colon = text.find(':', at + key.size() + 2);
  return text.find_first_not_of(" \t\r\n", colon + 1);
}

// "line L, column C: " for an offset into `text`, or "" when it is npos.
std::string location(std::string_view text, size_t offset) {
  if (offset == std::string_view::npos) return "";
  const auto [line, column] = line_column(text, offset);
  return fmt::format("line {}, column {}: ", line, column);
}

namespace {

// Deepest nesting of arrays and objects a JSON plan may have. nlohmann's parser is iterative,
// but copying and printing a json value recurse once per level: `[[[[…]]]]` 200k deep overflows
// the stack. A plan needs 3 levels ({"rules": [{"selector": …, "spec": …}]}); 256 leaves room
// for metadata next to "rules" and keeps any recursion a few kilobytes deep.
constexpr int kMaxJsonDepth = 256;

// c10::Error at the bracket that opens level kMaxJsonDepth + 1, before nlohmann sees the text.
// Brackets inside strings do not count; malformed JSON is left to nlohmann's error.
void check_json_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      TORCH_CHECK(++depth <= kMaxJsonDepth, "torchinit::Plan::parse: ", location(text, i),
                  "JSON nested deeper than ", kMaxJsonDepth,
                  " levels (arrays and objects); a plan needs 3: {\"rules\": [{\"selector\": "
                  "…, \"spec\": …}]}; remove the extra nesting");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

}  // namespace

// JSON with duplicate keys rejected (nlohmann keeps the last one silently). `keys`, if given,
// receives every key in document order so callers can point errors at a line and column.
nlohmann::json parse_json_strict(std::string_view text, std::vector<JsonKey>* keys) {
  std::vector<std::set<std::string>> open_objects;
  std::map<std::string, int> occurrences;
  std::string duplicate;
  int duplicate_occurrence = 0;
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                            nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == nlohmann::json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == nlohmann::json::parse_event_t::key) {
      const std::string key = parsed.get<std::string>();
      const int n = ++occurrences[key];
      if (keys) keys->push_back(JsonKey{depth, key, n});
      if (!open_objects.empty() && !open_objects.back().insert(key).second && duplicate.empty()) {
        duplicate = key;
        duplicate_occurrence = n;
      }
    }
    return true;
  };
  check_json_depth(text);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& e) {
    const auto [line, column] = line_column(text, e.byte > 0 ? e.byte - 1 : 0);
    TORCH_CHECK(false, "torchinit::Plan::parse: line ", line, ", column ", column, ": invalid JSON",
                e.byte >= text.size() ? " (truncated?)" : "", ": ", e.what(),
                "; fix the JSON or write the plan as `selector = spec` lines");
  } catch (const nlohmann::json::exception& e) {
    // Other parse failures (a number that overflows a double: out_of_range.406) carry no byte
    // offset; their message quotes the token, which locates it.
    const std::string what = e.what();
    const size_t open = what.find('\''), close = what.rfind('\'');
    const size_t at =
        open < close ? text.find(what.substr(open + 1, close - open - 1)) : std::string_view::npos;
    TORCH_CHECK(false, "torchinit::Plan::parse: ", location(text, at), "invalid JSON: ", what,
                "; fix the JSON or write the plan as `selector = spec` lines");
  }
  if (!duplicate.empty()) {
    TORCH_CHECK(false, "torchinit::Plan::parse: ",
                location(text, find_json_key(text, duplicate, duplicate_occurrence)),
                "duplicate key \"", duplicate,
                "\" in a JSON object; each key may appear once, remove one of them");
  }
  return j;
}

}  // namespace torchinit::detail
