#pragma once

// Spec: the parsed form of one-line specs such as
//   kaiming_normal(mode=fan_out, nonlinearity=leaky_relu(0.2))
//
// Grammar (whitespace is allowed between tokens):
//   spec  := name | name '(' [arg (',' arg)*] ')'
//   arg   := value | key '=' value          positional arguments come before keyword ones
//   value := number | identifier | string | spec | '[' [value (',' value)*] ']'
//   name, key, identifier := [A-Za-z_][A-Za-z0-9_.]*
//   number := [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?  |  [+-]?inf  |  nan
//   string := '...' or "..." with \' \" \\ as the only escapes
// An identifier directly followed by '(' is a nested spec; `relu` is an identifier value and
// `relu()` a spec value with no arguments.
//
// This header includes no torch headers, so every layer can use it cheaply.

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace torchinit {

class Spec;
namespace detail {
class SpecParser;
}

// One argument value. A plain struct: read the member that `kind` selects.
struct SpecValue {
  enum class Kind { Number, Identifier, String, Spec, List };

  Kind kind = Kind::Number;
  double number = 0;                 // Number
  std::string text;                  // Number: token text; Identifier: name; String: contents
  std::shared_ptr<const Spec> spec;  // Spec
  std::vector<SpecValue> list;       // List
  int column = 0;  // 1-based column in the parsed text; 0 when built programmatically

  // Canonical text: numbers keep their token text, strings are re-quoted with "..." and
  // escapes, a nested spec without arguments prints as `name()` so it stays a spec.
  std::string str() const;

  // The name of a kind for error messages: "number", "identifier", "string", "spec", "list".
  static const char* kind_name(Kind kind);

  // Builders; each throws c10::Error when the result would not print as parseable text.
  static SpecValue of_number(double value);          // text: shortest round-trip form
  static SpecValue of_identifier(std::string name);  // must match the identifier grammar
  static SpecValue of_string(std::string contents);  // any contents
  static SpecValue of_spec(Spec spec);
  static SpecValue of_list(std::vector<SpecValue> values);

  // An Identifier `relu` or a Spec `relu(...)` as a Spec, for arguments that accept both;
  // throws c10::Error for other kinds.
  Spec as_spec() const;

  // Structural: ignores columns; numbers compare by value (nan equals nan).
  bool operator==(const SpecValue& other) const;
  bool operator!=(const SpecValue& other) const { return !(*this == other); }
};

struct SpecArg {
  std::string key;  // empty for a positional argument
  SpecValue value;
  int column = 0;  // column of the key (or of the value when positional)
};

class Spec {
 public:
  Spec() = default;
  // Throws c10::Error for an invalid name or key, a duplicate key, or a positional argument
  // after a keyword one, so that every Spec prints as text that parses back to it.
  explicit Spec(std::string name, std::vector<SpecArg> args = {});

  // Parses `text`; throws c10::Error whose message names what was expected, what was found,
  // the 1-based column, and shows the text with a caret under that column.
  static Spec parse(std::string_view text);

  const std::string& name() const { return name_; }
  int column() const { return column_; }  // column of the name in source(); 0 if programmatic
  const std::vector<SpecArg>& args() const { return args_; }
  // The keyword argument `key`, or nullptr.
  const SpecArg* find(std::string_view key) const;
  // The whole text given to parse() (shared by nested specs, whose columns index into it);
  // empty for a programmatic Spec.
  const std::string& source() const;

  // Canonical text: `name`, or `name(a, key=value, ...)`; parse(str()).str() == str().
  std::string str() const;

  // Structural: ignores columns and source; numbers compare by value.
  bool operator==(const Spec& other) const;
  bool operator!=(const Spec& other) const { return !(*this == other); }

 private:
  friend class detail::SpecParser;

  std::string name_;
  std::vector<SpecArg> args_;
  int column_ = 0;
  std::shared_ptr<const std::string> source_;
};

std::ostream& operator<<(std::ostream& os, const SpecValue& value);
std::ostream& operator<<(std::ostream& os, const Spec& spec);

// Caret display for error messages: "  <line>\n  <padding>^" with the caret under the 1-based
// (byte) `column` of `text`. Shows only the line holding that column, at most 40 characters on
// each side of it ("…" where the line goes on), control characters and invalid UTF-8 escaped
// (\0, \x1b); the padding has one space per character (UTF-8 code point) and keeps tabs.
std::string caret(std::string_view text, int column);

// User text to echo in an error message: at most `max_chars` characters (code points), then
// "…"; control characters (NUL, tab, newline, escape) and invalid UTF-8 bytes escaped, so that
// a message stays short, prints on one line and never ends early at a NUL.
std::string excerpt(std::string_view text, size_t max_chars = 64);

// True when `text` can be written as a name, key or identifier value in a spec: it matches
// [A-Za-z_][A-Za-z0-9_.]* and is not a number word (inf, nan).
bool is_identifier(std::string_view text);

// The candidate closest to `word` by Damerau-Levenshtein (optimal string alignment) distance,
// if that distance is <= max(2, word.size() / 3); else "". Ties go to the earlier candidate.
// Words longer than 128 bytes get no suggestion, and candidates whose length alone rules them
// out are skipped, so the cost stays small for any input.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " did you mean 'x'?" for the closest match, or "": appended to "unknown name" errors.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace torchinit
