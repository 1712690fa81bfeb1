// IsFlatInWidth (testing.h): the gmock matcher of the coordinate check (coordcheck.h).
#include <ostream>

#include "torchinit/coordcheck.h"
#include "torchinit/testing.h"

namespace torchinit::test {
namespace {

class FlatInWidthMatcher : public ::testing::MatcherInterface<const CoordCheck&> {
 public:
  bool MatchAndExplain(const CoordCheck& cc,
                       ::testing::MatchResultListener* listener) const override {
    if (cc.passed()) {
      *listener << "every layer's update is flat in width (" << cc.parametrization << ")";
      return true;
    }
    *listener << "under " << cc.parametrization << " these layers' updates change with width:\n"
              << cc.failures();
    return false;
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "has every layer's update flat in width (coordinate check)";
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "has a layer whose update grows or shrinks with width";
  }
};

}  // namespace

::testing::Matcher<const CoordCheck&> IsFlatInWidth() {
  return ::testing::MakeMatcher(new FlatInWidthMatcher());
}

}  // namespace torchinit::test
