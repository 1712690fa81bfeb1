#include "torchinit/spec.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>

namespace torchinit {
namespace {

// Bounds recursion so hostile input like "[[[[..." fails cleanly instead of overflowing the stack.
constexpr int kMaxDepth = 64;

// Character classes are spelled out rather than taken from <cctype>, which depends on the locale.
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_identifier_text(std::string_view s) {
  return !s.empty() && is_ident_start(s[0]) && std::all_of(s.begin() + 1, s.end(), is_ident_char);
}

// Words that the grammar reads as numbers, so they cannot be identifier values.
bool is_number_word(std::string_view s) { return s == "inf" || s == "nan"; }

std::string quote(std::string_view contents) {
  std::string out = "\"";
  for (char c : contents) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Shortest text that reads back as the same double, spelled the way the grammar accepts.
std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

// Optimal string alignment distance: Levenshtein plus swaps of adjacent characters, the most
// common typo ("kiaming"). Three rolling rows: O(|a|·|b|) time, O(|b|) memory.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// Length in bytes of the UTF-8 sequence starting at text[i] (a lead byte with its continuation
// bytes, all before `end`), or 0 when the bytes there are not valid UTF-8.
size_t utf8_length(std::string_view text, size_t i, size_t end) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t n = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) n = 2;
  if (lead >= 0xE0 && lead <= 0xEF) n = 3;
  if (lead >= 0xF0 && lead <= 0xF4) n = 4;
  if (n == 0 || i + n > end) return 0;
  for (size_t k = i + 1; k < i + n; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  return n;
}

// End of the character (code point, or one invalid byte) that starts at text[i].
size_t next_char(std::string_view text, size_t i, size_t end) {
  return i + std::max<size_t>(1, utf8_length(text, i, end));
}

// The character text[i, next) as shown in a message: control characters, DEL and invalid UTF-8
// bytes escaped (\0, \r, \x1b), so that a message never holds a NUL or a terminal escape.
std::string shown_char(std::string_view text, size_t i, size_t next) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (next - i > 1 || (c >= 0x20 && c < 0x7F) || c == '\t') {
    return std::string(text.substr(i, next - i));
  }
  if (c == 0) return "\\0";
  if (c == '\r') return "\\r";
  if (c == '\n') return "\\n";
  static const char* hex = "0123456789abcdef";
  return std::string("\\x") + hex[c >> 4] + hex[c & 0xF];
}

// Characters (code points) of text[begin, end).
size_t count_chars(std::string_view text, size_t begin, size_t end) {
  size_t n = 0;
  for (size_t i = begin; i < end; i = next_char(text, i, end)) ++n;
  return n;
}

// Error messages show at most this many characters of user text on each side of a caret.
constexpr size_t kCaretContext = 40;
// did_you_mean compares words of at most this many bytes (a longer one is no typo of a name).
constexpr size_t kMaxSuggestedWord = 128;

}  // namespace

namespace detail {

// Recursive descent over the text, one method per grammar rule. Positions are byte offsets;
// columns shown to users are offset + 1.
class SpecParser {
 public:
  explicit SpecParser(std::string_view text)
      : source_(std::make_shared<const std::string>(text)), text_(*source_) {}

  Spec parse_all() {
    skip_space();
    const size_t start = pos_;
    if (!is_ident_start(peek())) {
      fail(start, "expected a spec name", "a spec looks like name or name(key=value, ...)");
    }
    std::string name(scan_identifier());
    Spec spec = finish_spec(std::move(name), start);
    skip_space();
    if (!at_end()) fail(pos_, "expected end of input", trailing_hint());
    return spec;
  }

 private:
  // After a name that started at `start`: its argument list, if '(' follows directly.
  Spec finish_spec(std::string name, size_t start) {
    std::vector<SpecArg> args;
    if (peek() == '(') args = parse_args();
    Spec spec(std::move(name), std::move(args));
    spec.column_ = column(start);
    spec.source_ = source_;
    return spec;
  }

  std::vector<SpecArg> parse_args() {
    const size_t open = pos_;
    enter(open);
    std::vector<SpecArg> args;
    skip_space();
    if (peek() == ')') {
      ++pos_;
      --depth_;
      return args;
    }
    while (true) {
      skip_space();
      expect_item(args.empty() ? "expected an argument or ')'" : "expected an argument after ','",
                  ')', open);
      const size_t start = pos_;
      SpecArg arg;
      arg.column = column(start);
      arg.key = scan_key();
      if (!arg.key.empty()) {
        for (const SpecArg& previous : args) {
          if (previous.key == arg.key) {
            fail(start, "expected each key once",
                 "remove one of the two '" + excerpt(arg.key) + "=' arguments",
                 "'" + excerpt(arg.key) + "' again, first given at column " +
                     std::to_string(previous.column));
          }
        }
        arg.value = parse_value("a value for '" + arg.key + "'");
      } else {
        if (!args.empty() && !args.back().key.empty()) {
          fail(start, "expected a keyword argument (key=value)",
               "positional arguments must come before keyword arguments");
        }
        arg.value = parse_value("an argument");
      }
      args.push_back(std::move(arg));
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() == ')') {
        ++pos_;
        break;
      } else {
        fail(pos_, "expected ')' or ',' after argument",
             after_item_hint('(', open, "separate arguments with ','"));
      }
    }
    --depth_;
    return args;
  }

  // `key =` consumed and returned, or "" with nothing consumed (a positional argument).
  std::string scan_key() {
    if (!is_ident_start(peek())) return "";
    const size_t save = pos_;
    std::string key(scan_identifier());
    skip_space();
    if (peek() == '=') {
      ++pos_;
      return key;
    }
    pos_ = save;
    return "";
  }

  // `what` completes "expected ..." when no value starts here.
  SpecValue parse_value(const std::string& what) {
    skip_space();
    const size_t start = pos_;
    const char c = peek();
    SpecValue value;
    if (c == '[') {
      value = parse_list();
    } else if (c == '"' || c == '\'') {
      value = parse_string();
    } else if (is_digit(c) || c == '.' || c == '+' || c == '-') {
      value = parse_number();
    } else if (is_ident_start(c)) {
      std::string name(scan_identifier());
      if (peek() == '(') {
        value = SpecValue::of_spec(finish_spec(std::move(name), start));
      } else if (is_number_word(name)) {
        value = make_number(start);
      } else {
        value.kind = SpecValue::Kind::Identifier;
        value.text = std::move(name);
      }
    } else {
      fail(start, "expected " + what, c == '=' ? "keyword arguments look like key=value" : "");
    }
    value.column = column(start);
    return value;
  }

  SpecValue parse_list() {
    const size_t open = pos_;
    enter(open);
    SpecValue value;
    value.kind = SpecValue::Kind::List;
    skip_space();
    if (peek() == ']') {
      ++pos_;
      --depth_;
      return value;
    }
    while (true) {
      skip_space();
      expect_item(value.list.empty() ? "expected a list element or ']'"
                                     : "expected a list element after ','",
                  ']', open);
      value.list.push_back(parse_value("a list element"));
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() == ']') {
        ++pos_;
        break;
      } else {
        fail(pos_, "expected ']' or ',' after list element",
             after_item_hint('[', open, "separate list elements with ','"));
      }
    }
    --depth_;
    return value;
  }

  SpecValue parse_string() {
    const size_t open = pos_;
    const char quote_char = text_[pos_++];
    SpecValue value;
    value.kind = SpecValue::Kind::String;
    while (true) {
      if (at_end()) {
        fail(pos_, std::string("expected a closing quote (") + quote_char + ")",
             "the string opened at column " + std::to_string(column(open)) + " is not closed");
      }
      const char c = text_[pos_];
      if (c == quote_char) {
        ++pos_;
        return value;
      }
      if (c == '\\') {
        const char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
        if (next != '\\' && next != '"' && next != '\'') {
          fail(pos_, "expected a quote or backslash after '\\'",
               "write \\\\ for a literal backslash",
               pos_ + 1 < text_.size() ? "'\\" + excerpt(text_.substr(pos_ + 1, 1)) + "'"
                                       : "end of input");
        }
        value.text += next;
        pos_ += 2;
        continue;
      }
      value.text += c;
      ++pos_;
    }
  }

  // Scans the token strictly, then converts it; a token that runs into letters, digits or dots
  // ("1.2.3", "12abc", "1e") is reported whole.
  SpecValue parse_number() {
    const size_t start = pos_;
    const bool has_sign = peek() == '+' || peek() == '-';
    if (has_sign) ++pos_;
    if (is_ident_start(peek())) {
      const std::string_view word = scan_identifier();
      if (word != "inf" && !(word == "nan" && !has_sign)) fail_number(start);
      return make_number(start);
    }
    size_t digits = skip_digits();
    if (peek() == '.') {
      ++pos_;
      digits += skip_digits();
    }
    if (digits == 0) fail_number(start);
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (skip_digits() == 0) fail_number(start);
    }
    if (is_ident_char(peek())) fail_number(start);
    return make_number(start);
  }

  // The already scanned number token text_[start, pos_) as a value.
  SpecValue make_number(size_t start) {
    SpecValue value;
    value.kind = SpecValue::Kind::Number;
    value.text = std::string(text_.substr(start, pos_ - start));
    std::string_view body = value.text;
    const bool negative = body[0] == '-';
    if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);  // from_chars rejects '+'
    if (body == "inf") {
      value.number = std::numeric_limits<double>::infinity();
    } else if (body == "nan") {
      value.number = std::numeric_limits<double>::quiet_NaN();
    } else {
      const auto [end, error] =
          std::from_chars(body.data(), body.data() + body.size(), value.number);
      if (error != std::errc() || end != body.data() + body.size()) {
        fail(start, "expected a number within double range", "use inf for an unbounded value");
      }
    }
    if (negative) value.number = -value.number;
    return value;
  }

  // Reports a missing item (nothing, or a ',' / closing bracket where one should start).
  void expect_item(const std::string& expected, char close, size_t open) {
    if (at_end()) fail(pos_, expected, close_hint(text_[open], open));
    if (peek() == ',') fail(pos_, expected, "remove the extra comma");
    if (peek() == close) fail(pos_, expected, "remove the trailing comma");
  }

  // Hint for a missing separator after an item inside brackets opened at `open`.
  std::string after_item_hint(char bracket, size_t open, const std::string& separate) const {
    if (at_end()) return close_hint(bracket, open);
    const bool after_space = pos_ > 0 && is_space(text_[pos_ - 1]);
    if (after_space && peek() == '(') return "remove the space before '('";
    if (after_space) return separate + ", and quote strings that contain spaces";
    return "";
  }

  std::string close_hint(char bracket, size_t open) const {
    return std::string("close the '") + bracket + "' opened at column " +
           std::to_string(column(open));
  }

  std::string trailing_hint() const {
    const char c = peek();
    if (c == ')' || c == ']') return std::string("remove the unmatched '") + c + "'";
    if (c == '(' && is_space(text_[pos_ - 1])) return "remove the space before '('";
    return "a spec looks like name or name(key=value, ...)";
  }

  [[noreturn]] void fail_number(size_t start) {
    fail(start, "expected a number", "numbers look like 1, -2.5, 1e-3, .5, inf or nan");
  }

  // Throws the parse error: expected, found, column, caret display, hint.
  [[noreturn]] void fail(size_t at, const std::string& expected, const std::string& hint = "",
                         std::string got = "") const {
    if (got.empty()) got = describe(at);
    const int col = column(at);
    std::string message = "torchinit::Spec::parse: " + expected + " at column " +
                          std::to_string(col) + " (got " + got + ")\n" + caret(text_, col);
    if (!hint.empty()) message += "\nhint: " + hint;
    TORCH_CHECK(false, message);
  }

  // What sits at `at`, for "(got ...)": a whole word or number token, else one character.
  std::string describe(size_t at) const {
    if (at >= text_.size()) return "end of input";
    size_t end = at;
    if (text_[end] == '+' || text_[end] == '-') ++end;
    while (end < text_.size() && is_ident_char(text_[end])) ++end;
    if (end == at) end = next_char(text_, at, text_.size());
    return "'" + excerpt(text_.substr(at, end - at)) + "'";
  }

  void enter(size_t open) {
    if (++depth_ > kMaxDepth) {
      fail(open, "expected at most " + std::to_string(kMaxDepth) + " levels of nesting");
    }
    ++pos_;
  }

  std::string_view scan_identifier() {
    const size_t start = pos_;
    while (!at_end() && is_ident_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  size_t skip_digits() {
    const size_t start = pos_;
    while (is_digit(peek())) ++pos_;
    return pos_ - start;
  }

  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  static int column(size_t offset) { return static_cast<int>(offset) + 1; }

  std::shared_ptr<const std::string> source_;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace detail

// ---- SpecValue ----

std::string SpecValue::str() const {
  switch (kind) {
    case Kind::Number:
      return text.empty() ? format_number(number) : text;
    case Kind::Identifier:
      return text;
    case Kind::String:
      return quote(text);
    case Kind::Spec:
      if (!spec) return "";
      // `name()` keeps a nested spec without arguments from reading back as an identifier.
      return spec->args().empty() ? spec->name() + "()" : spec->str();
    case Kind::List: {
      std::vector<std::string> parts;
      for (const SpecValue& element : list) parts.push_back(element.str());
      return "[" + join(parts) + "]";
    }
  }
  return "";
}

const char* SpecValue::kind_name(Kind kind) {
  switch (kind) {
    case Kind::Number:
      return "number";
    case Kind::Identifier:
      return "identifier";
    case Kind::String:
      return "string";
    case Kind::Spec:
      return "spec";
    case Kind::List:
      return "list";
  }
  return "?";
}

SpecValue SpecValue::of_number(double value) {
  SpecValue v;
  v.kind = Kind::Number;
  v.number = value;
  v.text = format_number(value);
  return v;
}

SpecValue SpecValue::of_identifier(std::string name) {
  TORCH_CHECK(is_identifier_text(name),
              "torchinit::SpecValue::of_identifier: expected a name matching "
              "[A-Za-z_][A-Za-z0-9_.]* (got '",
              excerpt(name), "')");
  TORCH_CHECK(!is_number_word(name), "torchinit::SpecValue::of_identifier: expected a name (got '",
              name, "', which reads as a number); use SpecValue::of_number");
  SpecValue v;
  v.kind = Kind::Identifier;
  v.text = std::move(name);
  return v;
}

SpecValue SpecValue::of_string(std::string contents) {
  SpecValue v;
  v.kind = Kind::String;
  v.text = std::move(contents);
  return v;
}

SpecValue SpecValue::of_spec(Spec spec) {
  SpecValue v;
  v.kind = Kind::Spec;
  v.spec = std::make_shared<const Spec>(std::move(spec));
  return v;
}

SpecValue SpecValue::of_list(std::vector<SpecValue> values) {
  SpecValue v;
  v.kind = Kind::List;
  v.list = std::move(values);
  return v;
}

Spec SpecValue::as_spec() const {
  if (kind == Kind::Identifier) return Spec(text);
  TORCH_CHECK(kind == Kind::Spec && spec,
              "torchinit::SpecValue::as_spec: expected an identifier or a spec (got ",
              kind_name(kind), " ", excerpt(str()), ")");
  return *spec;
}

bool SpecValue::operator==(const SpecValue& other) const {
  if (kind != other.kind) return false;
  switch (kind) {
    case Kind::Number:
      return number == other.number || (std::isnan(number) && std::isnan(other.number));
    case Kind::Identifier:
    case Kind::String:
      return text == other.text;
    case Kind::Spec:
      return spec && other.spec ? *spec == *other.spec : spec == other.spec;
    case Kind::List:
      return list == other.list;
  }
  return false;
}

// ---- Spec ----

Spec::Spec(std::string name, std::vector<SpecArg> args)
    : name_(std::move(name)), args_(std::move(args)) {
  TORCH_CHECK(is_identifier_text(name_),
              "torchinit::Spec: expected a name matching [A-Za-z_][A-Za-z0-9_.]* (got '",
              excerpt(name_), "')");
  for (size_t i = 0; i < args_.size(); ++i) {
    const std::string& key = args_[i].key;
    if (key.empty()) {
      TORCH_CHECK(i == 0 || args_[i - 1].key.empty(),
                  "torchinit::Spec: expected positional arguments before keyword arguments (got "
                  "positional argument ",
                  i, " after '", excerpt(args_[i - 1].key), "=')");
      continue;
    }
    TORCH_CHECK(is_identifier_text(key),
                "torchinit::Spec: expected a key matching [A-Za-z_][A-Za-z0-9_.]* (got '",
                excerpt(key), "')");
    for (size_t j = 0; j < i; ++j) {
      TORCH_CHECK(args_[j].key != key, "torchinit::Spec: expected each key once (got '",
                  excerpt(key), "' twice)");
    }
  }
}

Spec Spec::parse(std::string_view text) { return detail::SpecParser(text).parse_all(); }

const SpecArg* Spec::find(std::string_view key) const {
  if (key.empty()) return nullptr;  // positional arguments have empty keys but are not "found"
  for (const SpecArg& arg : args_) {
    if (arg.key == key) return &arg;
  }
  return nullptr;
}

const std::string& Spec::source() const {
  static const std::string empty;
  return source_ ? *source_ : empty;
}

std::string Spec::str() const {
  if (args_.empty()) return name_;
  std::vector<std::string> parts;
  for (const SpecArg& arg : args_) {
    parts.push_back(arg.key.empty() ? arg.value.str() : arg.key + "=" + arg.value.str());
  }
  return name_ + "(" + join(parts) + ")";
}

bool Spec::operator==(const Spec& other) const {
  return name_ == other.name_ &&
         std::equal(args_.begin(), args_.end(), other.args_.begin(), other.args_.end(),
                    [](const SpecArg& a, const SpecArg& b) {
                      return a.key == b.key && a.value == b.value;
                    });
}

std::ostream& operator<<(std::ostream& os, const SpecValue& value) { return os << value.str(); }
std::ostream& operator<<(std::ostream& os, const Spec& spec) { return os << spec.str(); }

// ---- error-message helpers ----

std::string caret(std::string_view text, int column) {
  const size_t at = std::min(static_cast<size_t>(std::max(column, 1) - 1), text.size());
  const size_t newline = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
  const size_t begin = newline == std::string_view::npos ? 0 : newline + 1;
  const size_t end = std::min(text.find('\n', at), text.size());
  // A window of kCaretContext characters on each side of the caret, "…" where the line goes on.
  size_t from = begin;
  for (size_t skip = count_chars(text, begin, at); skip > kCaretContext; --skip)
    from = next_char(text, from, end);
  size_t to = at;
  for (size_t n = 0; n < kCaretContext && to < end; ++n) to = next_char(text, to, end);
  std::string line = from > begin ? "…" : "", padding = from > begin ? " " : "";
  for (size_t i = from; i < to;) {
    const size_t next = next_char(text, i, end);
    const std::string shown = shown_char(text, i, next);
    // One column per character (code point) shown; tabs kept so the caret aligns with them.
    if (i < at)
      padding +=
          shown == "\t" ? std::string("\t") : std::string(count_chars(shown, 0, shown.size()), ' ');
    line += shown;
    i = next;
  }
  if (to < end) line += "…";
  return "  " + line + "\n  " + padding + "^";
}

std::string excerpt(std::string_view text, size_t max_chars) {
  std::string out;
  size_t i = 0, n = 0;
  for (; i < text.size() && n < max_chars; ++n) {
    const size_t next = next_char(text, i, text.size());
    out += text[i] == '\t' ? "\\t" : shown_char(text, i, next);
    i = next;
  }
  return i < text.size() ? out + "…" : out;
}

bool is_identifier(std::string_view text) {
  return is_identifier_text(text) && !is_number_word(text);
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  if (word.empty() || word.size() > kMaxSuggestedWord) return "";
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  const std::string* best = nullptr;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    // The distance is at least the difference in length: skip what cannot win.
    const size_t gap =
        std::max(word.size(), candidate.size()) - std::min(word.size(), candidate.size());
    if (gap >= best_distance) continue;
    const size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  return best ? *best : "";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string match = closest_match(word, candidates);
  return match.empty() ? "" : " did you mean '" + match + "'?";
}

}  // namespace torchinit
