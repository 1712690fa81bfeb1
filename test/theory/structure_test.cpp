// Distribution::typed_structure(): each factory holds its structure's alternative with the
// factory's numbers, unstructured families hold structure::None, the compatibility view
// structure() carries the same numbers in its old fields, and only unstructured theories may be
// checked from merged shard statistics.
#include "torchinit/structure.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "checks/structure_check.h"
#include "torchinit/custom_structure.h"
#include "torchinit/distribution.h"

namespace {

using torchinit::Distribution;
namespace structure = torchinit::structure;
using Shape = std::vector<int64_t>;

TEST(TypedStructure, UnstructuredFamiliesHoldNone) {
  const Distribution n = Distribution::normal(0, 1);
  for (const Distribution& d :
       {Distribution::constant(2), Distribution::uniform(-1, 1), n,
        Distribution::truncated_normal(0, 1, -2, 2), Distribution::log_uniform(1, 9),
        Distribution::mixture({{0.5, n}, {0.5, Distribution::constant(0)}})}) {
    EXPECT_TRUE(std::holds_alternative<structure::None>(d.typed_structure())) << d.str();
    EXPECT_TRUE(torchinit::detail::checkable_from_merged_statistics(d.typed_structure()))
        << d.str();
  }
}

TEST(TypedStructure, MixtureOfStructuredComponentsIsUnstructured) {
  // A user's mixture promises its marginal only, whatever its components or its name.
  const Distribution d =
      Distribution::mixture({{1.0, Distribution::orthogonal(4, 4, 1)}}, "orthogonal");
  EXPECT_TRUE(std::holds_alternative<structure::None>(d.typed_structure()));
}

TEST(TypedStructure, Orthogonal) {
  const Distribution d = Distribution::orthogonal(3, 7, 2.5);
  const auto& s = std::get<structure::Orthogonal>(d.typed_structure());
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.cols, 7);
  EXPECT_EQ(s.gain, 2.5);
  EXPECT_EQ(d.structure().rows, 3);
  EXPECT_EQ(d.structure().cols, 7);
  EXPECT_EQ(d.structure().gain, 2.5);
}

TEST(TypedStructure, Sparse) {
  const Distribution d = Distribution::sparse(10, 4, 3, 0.02);
  const auto& s = std::get<structure::Sparse>(d.typed_structure());
  EXPECT_EQ(s.rows, 10);
  EXPECT_EQ(s.cols, 4);
  EXPECT_EQ(s.zeros_per_column, 3);
  EXPECT_EQ(s.std, 0.02);
  EXPECT_EQ(d.structure().rows, 10);
  EXPECT_EQ(d.structure().cols, 4);
  EXPECT_EQ(d.structure().zeros_per_column, 3);
}

TEST(TypedStructure, Eye) {
  const Distribution d = Distribution::eye(3, 5);
  const auto& s = std::get<structure::Eye>(d.typed_structure());
  EXPECT_EQ(s.rows, 3);
  EXPECT_EQ(s.cols, 5);
  EXPECT_EQ(d.structure().rows, 3);
  EXPECT_EQ(d.structure().cols, 5);
}

TEST(TypedStructure, Dirac) {
  const Distribution d = Distribution::dirac({6, 4, 3, 3}, 2);
  const auto& s = std::get<structure::Dirac>(d.typed_structure());
  EXPECT_EQ(s.shape, (Shape{6, 4, 3, 3}));
  EXPECT_EQ(s.groups, 2);
  EXPECT_EQ(d.structure().shape, (Shape{6, 4, 3, 3}));
  EXPECT_EQ(d.structure().groups, 2);
}

TEST(TypedStructure, DeltaOrthogonal) {
  const Distribution d = Distribution::delta_orthogonal({8, 5, 3}, 1.5);
  const auto& s = std::get<structure::DeltaOrthogonal>(d.typed_structure());
  EXPECT_EQ(s.shape, (Shape{8, 5, 3}));
  EXPECT_EQ(s.gain, 1.5);
  EXPECT_EQ(d.structure().shape, (Shape{8, 5, 3}));
  EXPECT_EQ(d.structure().rows, 8);
  EXPECT_EQ(d.structure().cols, 5);
  EXPECT_EQ(d.structure().gain, 1.5);
}

TEST(TypedStructure, Chrono) {
  const Distribution d = Distribution::chrono(12);
  EXPECT_EQ(std::get<structure::Chrono>(d.typed_structure()).t_max, 12);
}

TEST(TypedStructure, BlockConstant) {
  const Distribution d = Distribution::block_constant({0, 1, 0, 0});
  const auto& s = std::get<structure::BlockConstant>(d.typed_structure());
  EXPECT_EQ(s.values, (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(d.structure().block_values, (std::vector<double>{0, 1, 0, 0}));
}

TEST(TypedStructure, StructuredTheoriesNeedTheWholeTensorWhenSharded) {
  for (const Distribution& d :
       {Distribution::orthogonal(3, 7, 1), Distribution::sparse(10, 4, 3, 0.02),
        Distribution::eye(3, 5), Distribution::dirac({6, 4, 3, 3}, 2),
        Distribution::delta_orthogonal({8, 5, 3}, 1), Distribution::chrono(12),
        Distribution::block_constant({0, 1, 0, 0})})
    EXPECT_FALSE(torchinit::detail::checkable_from_merged_statistics(d.typed_structure()))
        << d.str();
}

// A structure::Custom says for itself whether merged statistics suffice; with_structure keeps
// the marginal (kind, parameters, moments) and renames the family.
class Flagged final : public structure::Custom {
 public:
  explicit Flagged(bool mergeable) : mergeable_(mergeable) {}
  void check(const torchinit::StructureCheck&) const override {}
  bool checkable_from_merged_statistics() const override { return mergeable_; }

 private:
  bool mergeable_;
};

TEST(TypedStructure, Custom) {
  const Distribution marginal = Distribution::normal(0, 0.5);
  const auto joint = std::make_shared<Flagged>(false);
  const Distribution d = marginal.with_structure(joint, "paired");
  EXPECT_EQ(d.family(), "paired");
  EXPECT_EQ(d.kind(), Distribution::Kind::Normal);
  EXPECT_EQ(d.str(), "paired(mean=0, std=0.5)");
  EXPECT_EQ(d.variance(), marginal.variance());
  EXPECT_EQ(d.fourth_central_moment(), marginal.fourth_central_moment());
  EXPECT_EQ(d.cdf(0.3), marginal.cdf(0.3));
  ASSERT_TRUE(
      std::holds_alternative<std::shared_ptr<const structure::Custom>>(d.typed_structure()));
  EXPECT_EQ(std::get<std::shared_ptr<const structure::Custom>>(d.typed_structure()).get(),
            joint.get());
  EXPECT_TRUE(std::holds_alternative<structure::None>(marginal.typed_structure()));
  EXPECT_FALSE(torchinit::detail::checkable_from_merged_statistics(d.typed_structure()));
  EXPECT_TRUE(torchinit::detail::checkable_from_merged_statistics(
      marginal.with_structure(std::make_shared<Flagged>(true), "loose").typed_structure()));
}

}  // namespace
