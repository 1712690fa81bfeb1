// Plans read from files and text: missing, unreadable, directories, invalid UTF-8, truncated
// JSON, duplicate keys. Each is a c10::Error that says where (line and column) and what to do,
// and nothing is applied.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"
#include "torchinit/plan.h"

namespace {

using torchinit::testutil::ContainsAll;
using torchinit::testutil::error_of;

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& contents, const std::string& name = "plan.txt") {
    char pattern[] = "/tmp/torchinit_plan_XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/" + name;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

TEST(PlanFiles, AGoodFileLoads) {
  const TempFile f(":weight = xavier_uniform\n:bias = zeros  # comment\n");
  const auto plan = torchinit::load_plan(f.path());
  ASSERT_EQ(plan.rules().size(), 2u);
  EXPECT_EQ(plan.rules()[1].line, 2);
}

TEST(PlanFiles, MissingFileNamesThePathAndTheAlternatives) {
  EXPECT_TRUE(ContainsAll(error_of([] { torchinit::load_plan("/nonexistent/dir/plan.txt"); }),
                          {"torchinit::load_plan: '/nonexistent/dir/plan.txt'", "preset",
                           "an existing file", ":weight = xavier_uniform"}));
}

TEST(PlanFiles, ADirectoryIsAnError) {
  const TempFile f("");
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.dir()); }),
                          {"torchinit::load_plan", f.dir(), "is a directory", "pass a plan file"}));
}

TEST(PlanFiles, AnUnreadableFileIsAnError) {
  const TempFile f(":weight = zeros\n");
  ASSERT_EQ(::chmod(f.path().c_str(), 0), 0);
  if (::access(f.path().c_str(), R_OK) == 0) {
    // Root reads any file: chmod 000 cannot make it unreadable. The directory case above covers
    // the read-failure path; here the file must still load.
    EXPECT_EQ(torchinit::load_plan(f.path()).rules().size(), 1u);
    return;
  }
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {"torchinit::load_plan: cannot open", f.path(), "Permission denied"}));
}

TEST(PlanFiles, InvalidUtf8HasLineAndColumn) {
  const TempFile f(":bias = zeros\n:weight = xavier_uniform(gain=\xff)\n");
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "line 2, column 31", "invalid UTF-8", "0xFF", "UTF-8"}));
  // Overlong encodings, surrogates and truncated sequences are invalid too; valid UTF-8 in a
  // comment is fine.
  for (const char* bad :
       {"# \xc0\xaf\n", "# \xed\xa0\x80\n", "# \xe2\x82\n", "# \xf5\x80\x80\x80\n"})
    EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::Plan::parse(bad); }),
                            {"line 1, column 3", "invalid UTF-8"}))
        << bad;
  EXPECT_EQ(torchinit::Plan::parse("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n:bias = zeros")
                .rules()
                .size(),
            1u);
  // In JSON as well (the check runs before the JSON parser).
  EXPECT_TRUE(ContainsAll(
      error_of([] { torchinit::Plan::parse("[{\"selector\": \"\xfe\", \"spec\": \"zeros\"}]"); }),
      {"line 1, column 16", "invalid UTF-8"}));
}

TEST(PlanFiles, TruncatedJsonHasLineAndColumn) {
  const TempFile f("{\"rules\": [\n  {\"selector\": \":bias\", \"spec\": \"zeros\"},\n  {\"sel");
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "line 3", "invalid JSON", "truncated"}));
  EXPECT_TRUE(ContainsAll(error_of([] { torchinit::Plan::parse("[\n  {\"selector\": :bias}]"); }),
                          {"line 2, column 16", "invalid JSON"}));
}

TEST(PlanFiles, JsonNumberOverflowIsAnErrorWithLineAndColumn) {
  // Found by the plan fuzzer: nlohmann throws out_of_range (not parse_error) for a number
  // beyond double's range, and it used to escape Plan::parse as a non-c10 exception.
  EXPECT_TRUE(
      ContainsAll(error_of([] { torchinit::Plan::parse("[{\"selectoR\":\n   444444444444e4444"); }),
                  {"line 2, column 4", "invalid JSON", "number overflow"}));
  EXPECT_TRUE(
      ContainsAll(error_of([] { torchinit::Plan::parse("{\"rules\": [{\"selector\": -1e400}]}"); }),
                  {"line 1, column 25", "invalid JSON", "number overflow"}));
}

TEST(PlanFiles, SelectorsThatCouldNotBePrintedBackAreErrors) {
  // Found by the plan fuzzer: a selector starting with '{' parsed from text printed (str()) as a
  // plan that reads as JSON. Every character with a meaning in text plans is refused.
  using torchinit::Plan;
  EXPECT_TRUE(ContainsAll(error_of([] { Plan::parse("#  s\": [\n  {\"selec//////sk= ones"); }),
                          {"line 2", "starts with '{'", "read as JSON"}));
  EXPECT_TRUE(
      ContainsAll(error_of([] { Plan().rule("[0].weight", "zeros"); }), {"starts with '['"}));
  for (const char* bad : {"a#b", "a\"b", "a'b"})
    EXPECT_TRUE(ContainsAll(error_of([&] { Plan().rule(bad, "zeros"); }),
                            {bad, "contains '", "parameter paths"}));
  EXPECT_TRUE(ContainsAll(
      error_of([] { Plan::parse("[{\"selector\": \"fc\\n.weight\", \"spec\": \"zeros\"}]"); }),
      {"JSON rule 1", "line 1, column 15", "control character 0x0A"}));
  // Found by the plan fuzzer: a second byte order mark became the first selector's first
  // character, and str() printed it where reading back strips it.
  EXPECT_TRUE(ContainsAll(error_of([] {
                            Plan::parse(
                                "\xEF\xBB\xBF\xEF\xBB\xBF"
                                "fc = zeros");
                          }),
                          {"line 1", "contains U+FEFF", "byte order mark"}));
  EXPECT_TRUE(ContainsAll(
      error_of([] { Plan::parse("[{\"selector\": \"\\uFEFFfc\", \"spec\": \"zeros\"}]"); }),
      {"JSON rule 1", "line 1, column 15", "contains U+FEFF"}));
  EXPECT_TRUE(ContainsAll(error_of([] { Plan().rule("fc.\xEF\xBB\xBFweight", "zeros"); }),
                          {"contains U+FEFF"}));
  // Brackets and braces inside a path are fine.
  EXPECT_EQ(Plan().rule("blocks[0].*", "zeros").rules().size(), 1u);
}

TEST(PlanFiles, DuplicateJsonKeysAreErrorsWithLineAndColumn) {
  const std::string text =
      "{\"rules\": [\n"
      "  {\"selector\": \":bias\", \"spec\": \"zeros\"},\n"
      "  {\"selector\": \":weight\", \"spec\": \"zeros\", \"spec\": \"ones\"}\n"
      "]}";
  const TempFile f(text);
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "line 3, column 44", "duplicate key \"spec\"", "remove one"}));
  EXPECT_TRUE(
      ContainsAll(error_of([] { torchinit::Plan::parse("{\"rules\": [], \"rules\": []}"); }),
                  {"line 1, column 15", "duplicate key \"rules\""}));
  // The same key in different objects is fine.
  EXPECT_EQ(torchinit::Plan::parse("[{\"selector\": \":bias\", \"spec\": \"zeros\"}, "
                                   "{\"selector\": \":weight\", \"spec\": \"ones\"}]")
                .rules()
                .size(),
            2u);
}

TEST(PlanFiles, ErrorsInJsonRulesHaveLineAndColumn) {
  // A bad spec points at the spec's value, a bad selector at the selector's value; the nested
  // {"rules": [...]} form and the bare array form both count depth correctly.
  const std::string text =
      "{\"rules\": [\n"
      "  {\"selector\": \":bias\", \"spec\": \"zeros\"},\n"
      "  {\"selector\": \":weight\",\n"
      "   \"spec\":   \"kaiming_norml\"}\n"
      "]}";
  const TempFile f(text);
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "JSON rule 2", "line 4, column 14", "\"spec\"",
                           "did you mean 'kaiming_normal'?"}));
  EXPECT_TRUE(ContainsAll(
      error_of([] {
        torchinit::Plan::parse(
            "[{\"spec\": \"zeros\", \"selector\": \":bias\"},\n"
            " {\"selector\": \":recurent\", \"spec\": \"zeros\"}]");
      }),
      {"JSON rule 2", "line 2, column 15", "\"selector\"", "did you mean 'recurrent'"}));
  // A "spec" key elsewhere in the document (here in a sibling object) does not shift the count.
  EXPECT_TRUE(ContainsAll(error_of([] {
                            torchinit::Plan::parse(
                                "{\"about\": {\"spec\": \"x\"},\n"
                                " \"rules\": [{\"selector\": \":bias\", \"spec\": \"ones(\"}]}");
                          }),
                          {"JSON rule 1", "line 2, column 42", "\"spec\""}));
  // Missing fields still name the rule, and where its selector is.
  EXPECT_TRUE(
      ContainsAll(error_of([] { torchinit::Plan::parse("[\n  {\"selector\": \":bias\"}]"); }),
                  {"JSON rule 1", "line 2, column 16", "needs string fields"}));
}

TEST(PlanFiles, ErrorsInTextPlansHaveTheLine) {
  const TempFile f(":bias = zeros\n\n:weight = kaiming_norml\n");
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "line 3", "did you mean 'kaiming_normal'?"}));
}

TEST(PlanFiles, DeeplyNestedJsonIsAnErrorNotAStackOverflow) {
  // 200k levels used to overflow the stack (nlohmann's copies recurse once per level). The
  // error names the limit and the bracket that opens level 257.
  using torchinit::Plan;
  const std::string arrays = std::string(200'000, '[') + std::string(200'000, ']');
  EXPECT_TRUE(ContainsAll(error_of([&] { Plan::parse(arrays); }),
                          {"torchinit::Plan::parse: line 1, column 257",
                           "nested deeper than 256 levels", "a plan needs 3"}));
  std::string rules = "{\n";
  for (int i = 0; i < 200'000; ++i) rules += "\"rules\": {";
  EXPECT_TRUE(ContainsAll(error_of([&] { Plan::parse(rules); }),
                          {"line 2, column 2560", "nested deeper than 256 levels"}));
  // From a file, the error names it.
  const TempFile f(arrays);
  EXPECT_TRUE(ContainsAll(error_of([&] { torchinit::load_plan(f.path()); }),
                          {f.path(), "line 1, column 257", "nested deeper than 256 levels"}));
  // 256 levels are within the limit: the error is about the plan's structure, not its depth.
  const std::string at_limit = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(ContainsAll(error_of([&] { Plan::parse(at_limit); }), {"JSON rule 1 needs"}));
  EXPECT_FALSE(ContainsAll(error_of([&] { Plan::parse(at_limit); }), {"nested deeper"}));
  // Brackets inside strings, escaped quotes included, do not count.
  const std::string deep_text = std::string(300, '[') + std::string(300, '{');
  const Plan p =
      Plan::parse("{\"note\": \"\\\"" + deep_text + "\", \"rules\": [{\"selector\": \"a" +
                  deep_text + "\", \"spec\": \"zeros\"}]}");
  ASSERT_EQ(p.rules().size(), 1u);
  EXPECT_EQ(p.rules()[0].selector, "a" + deep_text);
}

TEST(PlanFiles, AByteOrderMarkIsSkippedAndColumnsStayRight) {
  using torchinit::Plan;
  const std::string bom = "\xEF\xBB\xBF";
  // Text and JSON plans, from strings and from files.
  const std::string text = ":weight = xavier_uniform\n:bias = zeros\n";
  const std::string json = "{\"rules\": [{\"selector\": \":weight\", \"spec\": \"zeros\"}]}";
  EXPECT_EQ(Plan::parse(bom + text).str(), Plan::parse(text).str());
  EXPECT_EQ(Plan::parse(bom + json).str(), Plan::parse(json).str());
  EXPECT_EQ(Plan::parse(bom + text).rules()[0].selector, ":weight");
  const TempFile text_file(bom + text), json_file(bom + json, "plan.json");
  EXPECT_EQ(torchinit::load_plan(text_file.path()).str(), Plan::parse(text).str());
  EXPECT_EQ(torchinit::load_plan(json_file.path()).str(), Plan::parse(json).str());
  // Errors on the first line have the columns an editor shows (the mark is invisible).
  for (const std::string& bad :
       {std::string("  :weight  "), std::string(":weight = kaiming_norml"),
        std::string("[{\"selector\": \":weight\", \"spec\": \"kaiming_norml\"}]"),
        std::string("[{\"selector\": :weight}]"), std::string("\xff")}) {
    const std::string without = error_of([&] { Plan::parse(bad); });
    EXPECT_TRUE(ContainsAll(without, {"line 1"})) << without;
    EXPECT_EQ(error_of([&] { Plan::parse(bom + bad); }), without);
  }
}

TEST(PlanFiles, AnEndlessFileIsAnErrorNotAnOutOfMemory) {
  // /dev/zero never ends: load_plan reads at most 64 MiB.
  EXPECT_TRUE(ContainsAll(error_of([] { torchinit::load_plan("/dev/zero"); }),
                          {"torchinit::load_plan: '/dev/zero'", "larger than 64 MiB"}));
}

}  // namespace
