// Tests of the stage DAG: order, ready sets, output kinds, cycles, and the printed pipeline.
#include "pipeline/dag.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

StageConfig Stage(const std::string& name, std::vector<std::string> deps,
                  StageType type = StageType::kSft) {
  StageConfig s;
  s.name = name;
  s.type = type;
  s.depends_on = std::move(deps);
  return s;
}

// a -> {b, c} -> d, and e independent; listed out of order.
std::vector<StageConfig> Diamond() {
  return {Stage("d", {"b", "c"}), Stage("c", {"a"}), Stage("e", {}), Stage("b", {"a"}),
          Stage("a", {})};
}

TEST(DagTest, TopologicalOrderPutsDependenciesFirstAndKeepsConfigOrderOtherwise) {
  absl::StatusOr<StageDag> dag = StageDag::Build(Diamond());
  ASSERT_TRUE(dag.ok()) << dag.status();
  // Ready first: e (config index 2) and a (4) -> e first; then c before b (config order).
  EXPECT_THAT(dag->TopologicalOrder(), ElementsAre("e", "a", "c", "b", "d"));
}

TEST(DagTest, ReadyStagesFollowSucceededOnes) {
  absl::StatusOr<StageDag> dag = StageDag::Build(Diamond());
  ASSERT_TRUE(dag.ok());
  EXPECT_THAT(dag->ReadyStages({}), ElementsAre("e", "a"));
  EXPECT_THAT(dag->ReadyStages({}, {"a"}), ElementsAre("e"));  // a is running
  EXPECT_THAT(dag->ReadyStages({"a"}), ElementsAre("e", "c", "b"));
  EXPECT_THAT(dag->ReadyStages({"a", "b"}, {"c"}), ElementsAre("e"));
  EXPECT_THAT(dag->ReadyStages({"a", "b", "c", "e"}), ElementsAre("d"));
  EXPECT_THAT(dag->ReadyStages({"a", "b", "c", "d", "e"}), IsEmpty());
}

TEST(DagTest, UncheckedWalksAnInvalidGraph) {
  // An unknown dependency leads nowhere; a cycle ends (each stage once).
  StageDag dag = StageDag::Unchecked({{"a", {"b", "gone"}}, {"b", {"c"}}, {"c", {"a"}}});
  EXPECT_THAT(dag.Ancestors("a"), UnorderedElementsAre("a", "b", "c", "gone"));
  EXPECT_THAT(dag.Ancestors("gone"), IsEmpty());
  EXPECT_THAT(dag.TopologicalOrder(), IsEmpty());
}

TEST(DagTest, AncestorsAndDescendants) {
  absl::StatusOr<StageDag> dag = StageDag::Build(Diamond());
  ASSERT_TRUE(dag.ok());
  EXPECT_THAT(dag->Ancestors("d"), UnorderedElementsAre("a", "b", "c"));
  EXPECT_THAT(dag->Ancestors("a"), IsEmpty());
  EXPECT_THAT(dag->Descendants("a"), UnorderedElementsAre("b", "c", "d"));
  EXPECT_THAT(dag->Descendants("e"), IsEmpty());
  EXPECT_THAT(dag->DependsOn("d"), ElementsAre("b", "c"));
  EXPECT_THAT(dag->DependsOn("zzz"), IsEmpty());
  EXPECT_TRUE(dag->Contains("e"));
  EXPECT_FALSE(dag->Contains("zzz"));
}

TEST(DagTest, BuildRejectsBadGraphs) {
  EXPECT_EQ(StageDag::Build({Stage("a", {}), Stage("a", {})}).status().message(),
            "duplicate stage name \"a\"");
  EXPECT_EQ(StageDag::Build({Stage("a", {"x"})}).status().message(),
            "stage \"a\" depends on unknown stage \"x\"");
  EXPECT_EQ(StageDag::Build({Stage("a", {"b"}), Stage("b", {"a"})}).status().message(),
            "dependency cycle a -> b -> a");
}

TEST(DagTest, FindCycle) {
  EXPECT_THAT(FindCycle(Diamond()), IsEmpty());
  EXPECT_THAT(FindCycle({Stage("s", {"s"})}), ElementsAre("s", "s"));
  EXPECT_THAT(
      FindCycle({Stage("x", {}), Stage("a", {"x", "b"}), Stage("b", {"c"}), Stage("c", {"a"})}),
      ElementsAre("a", "b", "c", "a"));
}

TEST(DagTest, OutputKinds) {
  EXPECT_EQ(StageOutputKind(StageType::kPretrain), OutputKind::kModel);
  EXPECT_EQ(StageOutputKind(StageType::kSft), OutputKind::kModel);
  EXPECT_EQ(StageOutputKind(StageType::kGrpo), OutputKind::kModel);
  EXPECT_EQ(StageOutputKind(StageType::kRewardModel), OutputKind::kRewardModel);
  EXPECT_EQ(StageOutputKind(StageType::kRejectionSampling), OutputKind::kDataset);
  EXPECT_EQ(StageOutputKind(StageType::kEval), OutputKind::kReport);
  EXPECT_EQ(OutputKindName(OutputKind::kDataset), "dataset");
}

TEST(DagTest, DescribePipelineListsStagesInOrderWithInputsAndParams) {
  absl::StatusOr<PipelineConfig> c = ParseConfig(DefaultConfigYaml());
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<StageDag> dag = StageDag::Build(c->stages);
  ASSERT_TRUE(dag.ok());
  std::string text = DescribePipeline(*c, *dag);
  EXPECT_THAT(text, HasSubstr("run: tiny-r1 (seed 1234, dir runs/tiny-r1)"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("stages (", c->stages.size(),
                                           ", in order):\n  1. pretrain [pretrain -> model]\n")));
  EXPECT_THAT(text, HasSubstr("rejection_sampling [rejection_sampling -> dataset]\n"
                              "      depends_on: grpo_reasoning\n"
                              "      model: stage:grpo_reasoning  datasets: "));
  EXPECT_THAT(text, HasSubstr("G=8"));
  EXPECT_THAT(text, HasSubstr("reward_model*0.5@answer(stage:reward_model)"));
  EXPECT_LT(text.find("1. pretrain"), text.find("sft_cold_start ["));
  EXPECT_LT(text.find("sft_rs ["), text.find("grpo_all_scenarios ["));
}

}  // namespace
}  // namespace r1
