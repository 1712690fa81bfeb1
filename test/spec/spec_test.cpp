#include "torchinit/spec.h"

#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using torchinit::Spec;
using torchinit::SpecArg;
using torchinit::SpecValue;
using Kind = SpecValue::Kind;

using torchinit::testutil::error_of;

std::string parse_error(const std::string& text) {
  return error_of([&] { Spec::parse(text); });
}

// ---- round trips ----

struct RoundTrip {
  std::string input;
  std::string canonical;
};

void PrintTo(const RoundTrip& c, std::ostream* os) { *os << c.input; }

class SpecRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(SpecRoundTrip, StrIsCanonicalAndReparsesEqual) {
  const RoundTrip& c = GetParam();
  const Spec spec = Spec::parse(c.input);
  EXPECT_EQ(spec.str(), c.canonical);
  const Spec again = Spec::parse(spec.str());
  EXPECT_EQ(again, spec);
  EXPECT_EQ(again.str(), spec.str());
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpecRoundTrip,
    ::testing::Values(
        RoundTrip{"zeros", "zeros"}, RoundTrip{"zeros()", "zeros"}, RoundTrip{"  ones \t", "ones"},
        RoundTrip{"kaiming_normal(mode=fan_out, nonlinearity=relu)",
                  "kaiming_normal(mode=fan_out, nonlinearity=relu)"},
        RoundTrip{"kaiming_normal( mode = fan_out ,nonlinearity=relu )",
                  "kaiming_normal(mode=fan_out, nonlinearity=relu)"},
        RoundTrip{"f(\ta=1,\n b=2)", "f(a=1, b=2)"},
        RoundTrip{"leaky_relu(0.2)", "leaky_relu(0.2)"},
        RoundTrip{"kaiming_normal(a=1,nonlinearity=leaky_relu(0.2))",
                  "kaiming_normal(a=1, nonlinearity=leaky_relu(0.2))"},
        RoundTrip{"f(act=relu())", "f(act=relu())"},
        RoundTrip{"orthogonal(gain=calculate_gain(tanh))", "orthogonal(gain=calculate_gain(tanh))"},
        RoundTrip{"constant(-2.5)", "constant(-2.5)"},
        RoundTrip{"normal(std=1e-3)", "normal(std=1e-3)"},
        RoundTrip{"uniform(a=-inf, b=+inf)", "uniform(a=-inf, b=+inf)"},
        RoundTrip{"f(x=inf, y=nan)", "f(x=inf, y=nan)"},
        RoundTrip{"f(.5, +3, 1., 1E+10, 0, -0.0)", "f(.5, +3, 1., 1E+10, 0, -0.0)"},
        RoundTrip{"f(x='hello world')", "f(x=\"hello world\")"},
        RoundTrip{R"(f(x="say \"hi\""))", R"(f(x="say \"hi\""))"},
        RoundTrip{R"(f(x='it\'s', y="back\\slash"))", R"(f(x="it's", y="back\\slash"))"},
        RoundTrip{"f(x='a,b)=[c')", "f(x=\"a,b)=[c\")"}, RoundTrip{"f(s='')", "f(s=\"\")"},
        RoundTrip{"f(xs=[1,2 , 3])", "f(xs=[1, 2, 3])"}, RoundTrip{"f(xs=[ ])", "f(xs=[])"},
        RoundTrip{"f([1, [2, [3]], relu, g(x=1), 'q'])", "f([1, [2, [3]], relu, g(x=1), \"q\"])"},
        RoundTrip{"composite(parts=[normal(std=0.1), zeros()], weights=[0.5, 0.5])",
                  "composite(parts=[normal(std=0.1), zeros()], weights=[0.5, 0.5])"},
        RoundTrip{"torch.nn.init.normal_(std=0.02)", "torch.nn.init.normal_(std=0.02)"},
        RoundTrip{"resnet(depth=18, classes=10, stem=cifar)",
                  "resnet(depth=18, classes=10, stem=cifar)"},
        RoundTrip{"f(1, 'two', k=v)", "f(1, \"two\", k=v)"},
        RoundTrip{"f(x=info, y=nan_x, z=inf.a)", "f(x=info, y=nan_x, z=inf.a)"}));

// ---- accessors ----

TEST(SpecAccessors, NameArgsAndColumns) {
  const Spec spec = Spec::parse("  kaiming_normal(0.5, mode=fan_out, gain=leaky_relu(0.2))");
  EXPECT_EQ(spec.name(), "kaiming_normal");
  EXPECT_EQ(spec.column(), 3);
  EXPECT_EQ(spec.source(), "  kaiming_normal(0.5, mode=fan_out, gain=leaky_relu(0.2))");
  ASSERT_EQ(spec.args().size(), 3u);

  const SpecArg& positional = spec.args()[0];
  EXPECT_EQ(positional.key, "");
  EXPECT_EQ(positional.column, 18);
  EXPECT_EQ(positional.value.kind, Kind::Number);
  EXPECT_DOUBLE_EQ(positional.value.number, 0.5);
  EXPECT_EQ(positional.value.text, "0.5");
  EXPECT_EQ(positional.value.column, 18);

  const SpecArg* mode = spec.find("mode");
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ(mode->column, 23);
  EXPECT_EQ(mode->value.kind, Kind::Identifier);
  EXPECT_EQ(mode->value.text, "fan_out");
  EXPECT_EQ(mode->value.column, 28);

  const SpecArg* gain = spec.find("gain");
  ASSERT_NE(gain, nullptr);
  ASSERT_EQ(gain->value.kind, Kind::Spec);
  ASSERT_NE(gain->value.spec, nullptr);
  const Spec& nested = *gain->value.spec;
  EXPECT_EQ(nested.name(), "leaky_relu");
  EXPECT_EQ(nested.column(), 42);
  EXPECT_EQ(gain->value.column, 42);
  EXPECT_EQ(nested.source(), spec.source());  // nested columns index into the outer text
  ASSERT_EQ(nested.args().size(), 1u);
  EXPECT_DOUBLE_EQ(nested.args()[0].value.number, 0.2);
  EXPECT_EQ(nested.args()[0].column, 53);

  EXPECT_EQ(spec.find("missing"), nullptr);
  EXPECT_EQ(spec.find(""), nullptr);  // positional arguments are not found by key
}

TEST(SpecAccessors, ValueKinds) {
  const Spec spec =
      Spec::parse(R"(f(n=-1e-3, i=relu, s='a "b"', l=[1, x, "y"], p=g(), m=-inf, q=nan))");
  EXPECT_EQ(spec.find("n")->value.kind, Kind::Number);
  EXPECT_DOUBLE_EQ(spec.find("n")->value.number, -1e-3);
  EXPECT_EQ(spec.find("n")->value.text, "-1e-3");
  EXPECT_EQ(spec.find("i")->value.kind, Kind::Identifier);
  EXPECT_EQ(spec.find("s")->value.kind, Kind::String);
  EXPECT_EQ(spec.find("s")->value.text, "a \"b\"");
  EXPECT_EQ(spec.find("s")->value.str(), R"("a \"b\"")");

  const SpecValue& list = spec.find("l")->value;
  ASSERT_EQ(list.kind, Kind::List);
  ASSERT_EQ(list.list.size(), 3u);
  EXPECT_EQ(list.list[0].kind, Kind::Number);
  EXPECT_EQ(list.list[1].kind, Kind::Identifier);
  EXPECT_EQ(list.list[2].kind, Kind::String);
  EXPECT_EQ(list.column, 33);
  EXPECT_EQ(list.list[1].column, 37);

  const SpecValue& p = spec.find("p")->value;
  ASSERT_EQ(p.kind, Kind::Spec);
  EXPECT_EQ(p.spec->name(), "g");
  EXPECT_TRUE(p.spec->args().empty());
  EXPECT_EQ(p.str(), "g()");

  EXPECT_EQ(spec.find("m")->value.number, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(spec.find("q")->value.number));
  EXPECT_STREQ(SpecValue::kind_name(Kind::List), "list");
}

TEST(SpecAccessors, AsSpecAcceptsIdentifiersAndSpecs) {
  const Spec spec = Spec::parse("f(a=relu, b=leaky_relu(0.2), c=1)");
  EXPECT_EQ(spec.find("a")->value.as_spec(), Spec("relu"));
  EXPECT_EQ(spec.find("b")->value.as_spec().str(), "leaky_relu(0.2)");
  EXPECT_THAT(error_of([&] { spec.find("c")->value.as_spec(); }),
              StartsWith("torchinit::SpecValue::as_spec: expected an identifier or a spec (got "
                         "number 1)"));
}

// ---- equality ----

TEST(SpecEquality, StructuralAndByValue) {
  EXPECT_EQ(Spec::parse("f(x=1.0)"), Spec::parse("f( x = 1 )"));
  EXPECT_EQ(Spec::parse("f(x=+3)"), Spec::parse("f(x=3e0)"));
  EXPECT_EQ(Spec::parse("f(x=nan)"), Spec::parse("f(x=nan)"));
  EXPECT_EQ(Spec::parse("f()"), Spec::parse("f"));
  EXPECT_NE(Spec::parse("f(x=1)"), Spec::parse("f(x=2)"));
  EXPECT_NE(Spec::parse("f(x=1)"), Spec::parse("g(x=1)"));
  EXPECT_NE(Spec::parse("f(x=1, y=2)"), Spec::parse("f(y=2, x=1)"));
  EXPECT_NE(Spec::parse("f(x=1)"), Spec::parse("f(x=1, y=2)"));
  EXPECT_NE(Spec::parse("f(x=relu)"), Spec::parse("f(x=relu())"));
  EXPECT_NE(Spec::parse("f(x=relu)"), Spec::parse("f(x='relu')"));
  EXPECT_NE(Spec::parse("f(x=[1, 2])"), Spec::parse("f(x=[2, 1])"));
  EXPECT_NE(Spec::parse("f(1)"), Spec::parse("f(x=1)"));
}

// ---- programmatic construction ----

TEST(SpecBuild, ProgrammaticSpecsPrintAndCompare) {
  const Spec built(
      "kaiming_normal",
      {SpecArg{"", SpecValue::of_number(0.5)}, SpecArg{"mode", SpecValue::of_identifier("fan_out")},
       SpecArg{"gain",
               SpecValue::of_spec(Spec("leaky_relu", {SpecArg{"", SpecValue::of_number(0.2)}}))},
       SpecArg{"note", SpecValue::of_string("say \"hi\" \\o/")},
       SpecArg{"xs",
               SpecValue::of_list({SpecValue::of_number(1), SpecValue::of_spec(Spec("zeros"))})}});
  EXPECT_EQ(built.str(),
            R"(kaiming_normal(0.5, mode=fan_out, gain=leaky_relu(0.2), note="say \"hi\" \\o/", )"
            R"(xs=[1, zeros()]))");
  EXPECT_EQ(Spec::parse(built.str()), built);
  EXPECT_EQ(built.column(), 0);
  EXPECT_EQ(built.source(), "");
  EXPECT_EQ(built.args()[0].column, 0);

  std::ostringstream os;
  os << built.args()[1].value << " " << Spec("zeros");
  EXPECT_EQ(os.str(), "fan_out zeros");
}

TEST(SpecBuild, NumbersPrintShortestRoundTrip) {
  EXPECT_EQ(SpecValue::of_number(1e-3).str(), "0.001");
  EXPECT_EQ(SpecValue::of_number(2).str(), "2");
  EXPECT_EQ(SpecValue::of_number(0.1).str(), "0.1");
  EXPECT_EQ(SpecValue::of_number(std::numeric_limits<double>::infinity()).str(), "inf");
  EXPECT_EQ(SpecValue::of_number(-std::numeric_limits<double>::infinity()).str(), "-inf");
  EXPECT_EQ(SpecValue::of_number(std::nan("")).str(), "nan");
  for (double x : {1e-300, 1.0 / 3.0, -123456.789, 6.02214076e23}) {
    const Spec spec("f", {SpecArg{"x", SpecValue::of_number(x)}});
    EXPECT_EQ(Spec::parse(spec.str()).find("x")->value.number, x) << spec.str();
  }
}

TEST(SpecBuild, InvalidPiecesThrow) {
  EXPECT_THAT(error_of([] { Spec("two words"); }),
              StartsWith("torchinit::Spec: expected a name matching [A-Za-z_][A-Za-z0-9_.]* (got "
                         "'two words')"));
  EXPECT_THAT(error_of([] { Spec(""); }), HasSubstr("(got '')"));
  EXPECT_THAT(error_of([] {
                Spec("f", {SpecArg{"1x", SpecValue::of_number(1)}});
              }),
              HasSubstr("expected a key matching"));
  EXPECT_THAT(
      error_of([] {
        Spec("f", {SpecArg{"a", SpecValue::of_number(1)}, SpecArg{"a", SpecValue::of_number(2)}});
      }),
      HasSubstr("expected each key once (got 'a' twice)"));
  EXPECT_THAT(
      error_of([] {
        Spec("f", {SpecArg{"a", SpecValue::of_number(1)}, SpecArg{"", SpecValue::of_number(2)}});
      }),
      HasSubstr("expected positional arguments before keyword arguments"));
  EXPECT_THAT(error_of([] { SpecValue::of_identifier("a b"); }),
              StartsWith("torchinit::SpecValue::of_identifier: expected a name"));
  EXPECT_THAT(error_of([] { SpecValue::of_identifier("inf"); }), HasSubstr("reads as a number"));
}

// ---- errors ----

TEST(SpecErrors, FullMessageHasExpectedGotColumnCaretAndHint) {
  EXPECT_EQ(parse_error("kaiming_normal(a=1 x)"),
            "torchinit::Spec::parse: expected ')' or ',' after argument at column 20 (got 'x')\n"
            "  kaiming_normal(a=1 x)\n"
            "                     ^\n"
            "hint: separate arguments with ',', and quote strings that contain spaces");
}

struct ErrorCase {
  std::string input;
  std::string message;  // must appear in the error, including "at column N (got ...)"
  std::string hint;     // must appear too when non-empty
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.input; }

class SpecErrorTable : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SpecErrorTable, ReportsWhatWhereAndWhy) {
  const ErrorCase& c = GetParam();
  const std::string message = parse_error(c.input);
  EXPECT_THAT(message, StartsWith("torchinit::Spec::parse: " + c.message));
  EXPECT_THAT(message, HasSubstr("\n  " + c.input + "\n  "));  // caret display follows
  if (!c.hint.empty()) {
    EXPECT_THAT(message, HasSubstr("\nhint: " + c.hint));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, SpecErrorTable,
    ::testing::Values(
        // empty input and bad names
        ErrorCase{"", "expected a spec name at column 1 (got end of input)", "a spec looks like"},
        ErrorCase{"   ", "expected a spec name at column 4 (got end of input)", ""},
        ErrorCase{"(a=1)", "expected a spec name at column 1 (got '(')", ""},
        ErrorCase{"1.5", "expected a spec name at column 1 (got '1.5')", ""},
        // trailing garbage and unbalanced brackets
        ErrorCase{"f(a=1) x", "expected end of input at column 8 (got 'x')", ""},
        ErrorCase{"kaiming normal", "expected end of input at column 9 (got 'normal')", ""},
        ErrorCase{"f(a=1))", "expected end of input at column 7 (got ')')",
                  "remove the unmatched ')'"},
        ErrorCase{"f]", "expected end of input at column 2 (got ']')", "remove the unmatched ']'"},
        ErrorCase{"f (a=1)", "expected end of input at column 3 (got '(')",
                  "remove the space before '('"},
        ErrorCase{"f(a=1)(b=2)", "expected end of input at column 7 (got '(')", ""},
        ErrorCase{"f(a=1", "expected ')' or ',' after argument at column 6 (got end of input)",
                  "close the '(' opened at column 2"},
        ErrorCase{"f(", "expected an argument or ')' at column 3 (got end of input)",
                  "close the '(' opened at column 2"},
        ErrorCase{"f(g(h(1)", "expected ')' or ',' after argument at column 9 (got end of input)",
                  "close the '(' opened at column 4"},
        ErrorCase{"f(a=1]", "expected ')' or ',' after argument at column 6 (got ']')", ""},
        ErrorCase{"f(a=[1, 2)", "expected ']' or ',' after list element at column 10 (got ')')",
                  ""},
        ErrorCase{"f(a=[1, 2",
                  "expected ']' or ',' after list element at column 10 (got end of input)",
                  "close the '[' opened at column 5"},
        ErrorCase{"f(a=[1 2])", "expected ']' or ',' after list element at column 8 (got '2')",
                  "separate list elements with ','"},
        // missing values and stray commas
        ErrorCase{"f(a=)", "expected a value for 'a' at column 5 (got ')')", ""},
        ErrorCase{"f(a=", "expected a value for 'a' at column 5 (got end of input)", ""},
        ErrorCase{"f(a= ,b=2)", "expected a value for 'a' at column 6 (got ',')", ""},
        ErrorCase{"f(a=1,,b=2)", "expected an argument after ',' at column 7 (got ',')",
                  "remove the extra comma"},
        ErrorCase{"f(a=1,)", "expected an argument after ',' at column 7 (got ')')",
                  "remove the trailing comma"},
        ErrorCase{"f(a=1, ", "expected an argument after ',' at column 8 (got end of input)",
                  "close the '(' opened at column 2"},
        ErrorCase{"f(,)", "expected an argument or ')' at column 3 (got ',')",
                  "remove the extra comma"},
        ErrorCase{"f(=1)", "expected an argument at column 3 (got '=')",
                  "keyword arguments look like key=value"},
        ErrorCase{"f(x=@)", "expected a value for 'x' at column 5 (got '@')", ""},
        ErrorCase{"f(a=[1,,2])", "expected a list element after ',' at column 8 (got ',')",
                  "remove the extra comma"},
        ErrorCase{"f(a=[1,])", "expected a list element after ',' at column 8 (got ']')",
                  "remove the trailing comma"},
        ErrorCase{"f(a=[,])", "expected a list element or ']' at column 6 (got ',')", ""},
        // argument order and duplicates
        ErrorCase{"f(a=1, 2)", "expected a keyword argument (key=value) at column 8 (got '2')",
                  "positional arguments must come before keyword arguments"},
        ErrorCase{"f(a=1, a=2)",
                  "expected each key once at column 8 (got 'a' again, first given at column 3)",
                  "remove one of the two 'a=' arguments"},
        // separators and spaces
        ErrorCase{"kaiming_normal(a=1 x)",
                  "expected ')' or ',' after argument at column 20 (got 'x')",
                  "separate arguments with ',', and quote strings that contain spaces"},
        ErrorCase{"f(mode=fan in)", "expected ')' or ',' after argument at column 12 (got 'in')",
                  "separate arguments with ',', and quote strings that contain spaces"},
        ErrorCase{"f(x=g (1))", "expected ')' or ',' after argument at column 7 (got '(')",
                  "remove the space before '('"},
        // strings
        ErrorCase{"f(x='abc)", "expected a closing quote (') at column 10 (got end of input)",
                  "the string opened at column 5 is not closed"},
        ErrorCase{R"(f(x="a\"))", R"(expected a closing quote (") at column 10 (got end of input))",
                  "the string opened at column 5 is not closed"},
        ErrorCase{R"(f(x='a\nb'))",
                  R"(expected a quote or backslash after '\' at column 7 (got '\n'))",
                  R"(write \\ for a literal backslash)"},
        // numbers
        ErrorCase{"f(x=1.2.3)", "expected a number at column 5 (got '1.2.3')", "numbers look like"},
        ErrorCase{"f(x=12abc)", "expected a number at column 5 (got '12abc')", ""},
        ErrorCase{"f(x=1e)", "expected a number at column 5 (got '1e')", ""},
        ErrorCase{"f(x=1e+)", "expected a number at column 5 (got '1e')", ""},
        ErrorCase{"f(x=.)", "expected a number at column 5 (got '.')", ""},
        ErrorCase{"f(x=-)", "expected a number at column 5 (got '-')", ""},
        ErrorCase{"f(x=-nan)", "expected a number at column 5 (got '-nan')", ""},
        ErrorCase{"f(x=-relu)", "expected a number at column 5 (got '-relu')", ""},
        ErrorCase{"f(x=1e999)", "expected a number within double range at column 5 (got '1e999')",
                  "use inf"}));

TEST(SpecErrors, NumberWordsAreCaseSensitive) {
  const Spec spec = Spec::parse("f(a=Inf, b=NaN, c=inf)");
  EXPECT_EQ(spec.find("a")->value.kind, Kind::Identifier);
  EXPECT_EQ(spec.find("b")->value.kind, Kind::Identifier);
  EXPECT_EQ(spec.find("c")->value.kind, Kind::Number);
}

TEST(SpecErrors, DeepNestingFailsCleanly) {
  const std::string deep = "f(x=" + std::string(100, '[') + std::string(100, ']') + ")";
  EXPECT_THAT(parse_error(deep), StartsWith("torchinit::Spec::parse: expected at most 64 levels of "
                                            "nesting at column 68 (got '[')"));
  const std::string ok = "f(x=" + std::string(60, '[') + std::string(60, ']') + ")";
  EXPECT_EQ(Spec::parse(ok).str(), ok);
}

TEST(SpecErrors, CaretPointsIntoMultiLineText) {
  const std::string message = parse_error("f(a=1,\n  b=)");
  EXPECT_THAT(message, HasSubstr("expected a value for 'b' at column 12 (got ')')\n"
                                 "    b=)\n"
                                 "      ^"));
}

// ---- caret ----

TEST(SpecCaret, PointsAtColumn) {
  EXPECT_EQ(torchinit::caret("abc", 1), "  abc\n  ^");
  EXPECT_EQ(torchinit::caret("abc", 2), "  abc\n   ^");
  EXPECT_EQ(torchinit::caret("abc", 4), "  abc\n     ^");    // one past the end: end of input
  EXPECT_EQ(torchinit::caret("\tab", 3), "  \tab\n  \t ^");  // tabs kept so the caret aligns
  EXPECT_EQ(torchinit::caret("ab\ncd", 5), "  cd\n   ^");
}

// ---- did you mean ----

TEST(SpecSuggest, ClosestMatch) {
  const std::vector<std::string> names = {"xavier_uniform", "kaiming_normal", "kaiming_uniform",
                                          "orthogonal", "zeros"};
  EXPECT_EQ(torchinit::closest_match("kaiming_norml", names), "kaiming_normal");
  EXPECT_EQ(torchinit::closest_match("kiaming_normal", names), "kaiming_normal");  // swap
  EXPECT_EQ(torchinit::closest_match("Kaiming_Normal", names), "kaiming_normal");
  EXPECT_EQ(torchinit::closest_match("zero", names), "zeros");
  EXPECT_EQ(torchinit::closest_match("ortho", names), "");  // 5 edits > max(2, 5/3)
  EXPECT_EQ(torchinit::closest_match("banana", names), "");
  EXPECT_EQ(torchinit::closest_match("", names), "");
  EXPECT_EQ(torchinit::closest_match("zeros", {}), "");
  EXPECT_EQ(torchinit::closest_match("ab", {"xy", "ax"}), "ax");  // nearest wins
  EXPECT_EQ(torchinit::closest_match("ab", {"ac", "ad"}), "ac");  // ties: first
}

TEST(SpecSuggest, DidYouMean) {
  const std::vector<std::string> names = {"kaiming_normal", "xavier_normal"};
  EXPECT_EQ(torchinit::did_you_mean("kaiming_norml", names), " did you mean 'kaiming_normal'?");
  EXPECT_EQ(torchinit::did_you_mean("glorot", names), "");
}

// ---- hostile text: messages stay short, printable and aligned ----

// Nesting is bounded in every form, so 200k levels neither overflow the stack nor echo the
// whole text back.
TEST(SpecHostile, DeepNestingOfSpecsAndListsIsAShortError) {
  const size_t depth = 200000;
  std::string specs, lists = "f(x=";
  for (size_t i = 0; i < depth; ++i) specs += "a(";
  specs += std::string(depth, ')');
  lists += std::string(depth, '[') + std::string(depth, ']') + ")";
  for (const std::string& text : {specs, lists}) {
    const std::string message = parse_error(text);
    EXPECT_THAT(message, HasSubstr("expected at most 64 levels of nesting"));
    EXPECT_LT(message.size(), 600u) << message.substr(0, 600);
  }
}

// A 1 MiB spec: the caret shows a window of the line, and did-you-mean skips a word no name is
// near, so the message stays short and comes at once (today: 2 MiB and 16–24 s).
TEST(SpecHostile, HugeSpecGivesAShortMessageFast) {
  const std::string word(size_t(1) << 20, 'k');
  const std::vector<std::string> names = {"kaiming_normal", "kaiming_uniform", "xavier_normal"};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(torchinit::did_you_mean(word, names), "");
  const std::string message = parse_error("f(x=" + word + "(1)" + "!)");  // error at the '!'
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(message.size(), 600u);
  EXPECT_THAT(message, HasSubstr("\n  …" + std::string(37, 'k') + "(1)!)\n"));
  EXPECT_LT(seconds, 2.0);  // linear work: milliseconds here; the old quadratic cost was 16 s
  // Echoed words are cut too: "(got '<word>')".
  const std::string got = parse_error("f(x=1 " + word + ")");
  EXPECT_THAT(got, HasSubstr("(got '" + std::string(64, 'k') + "…')"));
  EXPECT_LT(got.size(), 600u);
}

// NUL and control characters are escaped: what() is one C string holding the whole message.
TEST(SpecHostile, NulAndControlCharactersAreEscaped) {
  const std::string text = std::string("f(x=") + '\0' + "\x1b[31m)";
  std::string what;
  try {
    Spec::parse(text);
  } catch (const c10::Error& e) {
    what = e.msg();
    EXPECT_EQ(std::strlen(e.what_without_backtrace()), what.size()) << "a NUL cuts it short";
  }
  ASSERT_FALSE(what.empty());
  EXPECT_EQ(what.find('\0'), std::string::npos);
  EXPECT_EQ(what.find('\x1b'), std::string::npos);
  EXPECT_THAT(what, HasSubstr("(got '\\0')"));
  EXPECT_THAT(what, HasSubstr("  f(x=\\0\\x1b[31m)\n      ^"));
  EXPECT_EQ(torchinit::excerpt(std::string("a\0b\tc\nd", 7)), "a\\0b\\tc\\nd");
  EXPECT_EQ(torchinit::excerpt("\xff\xc3"), "\\xff\\xc3");  // invalid UTF-8, byte by byte
}

// Carets count characters (UTF-8 code points), not bytes.
TEST(SpecHostile, CaretsAlignAfterMultiByteCharacters) {
  // "é" and "€" are 2 and 3 bytes: 'b' is at byte column 8 but character column 5.
  EXPECT_EQ(torchinit::caret("aé€ b", 8), "  aé€ b\n      ^");
  const std::string message = parse_error("f(\"é€\", 1 2)");
  // '2' is at byte column 14, after 10 characters: the caret sits under it.
  EXPECT_THAT(message, HasSubstr("column 14"));
  EXPECT_THAT(message, HasSubstr("  f(\"é€\", 1 2)\n  " + std::string(10, ' ') + "^"));
  // A window cut keeps whole characters and marks the cut.
  std::string line;
  for (int i = 0; i < 60; ++i) line += "é";
  line += "x";
  EXPECT_EQ(torchinit::caret(line, 121),
            "  …" + line.substr(40) + "\n   " + std::string(40, ' ') + "^");
  EXPECT_EQ(torchinit::excerpt(line, 3), "éé" + std::string("é") + "…");
}

TEST(SpecHostile, IsIdentifierFollowsTheGrammar) {
  for (const char* ok : {"relu", "_x", "a.b", "x9", "Inf"})
    EXPECT_TRUE(torchinit::is_identifier(ok)) << ok;
  for (const char* bad : {"", "9a", "bad name(!", "a-b", "inf", "nan", "é"})
    EXPECT_FALSE(torchinit::is_identifier(bad)) << bad;
}

}  // namespace
