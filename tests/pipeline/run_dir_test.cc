// Tests of the run directory: run.yaml refusal rules, layout, atomic checkpoints and the newest
// complete checkpoint lookup.
#include "pipeline/run_dir.h"

#include <string>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string FreshPath(const std::string& name) {
  std::string dir = JoinPath(::testing::TempDir(), "run_dir_test_" + name);
  EXPECT_TRUE(RemoveAll(dir).ok());
  return dir;
}

TEST(RunDirTest, CreateWritesRunYamlAndLaysOutPaths) {
  std::string root = JoinPath(FreshPath("create"), "nested/run");
  absl::StatusOr<RunDir> dir = RunDir::Create(root, "run: {name: x}\n");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*ReadFile(JoinPath(root, "run.yaml")), "run: {name: x}\n");
  EXPECT_EQ(dir->JournalPath(), root + "/journal");
  EXPECT_EQ(dir->CheckpointDir("sft", 120), root + "/sft/checkpoints/step-000120");
  EXPECT_EQ(dir->OutputDir("sft"), root + "/sft/output");
  EXPECT_EQ(dir->MetricsPath("sft"), root + "/sft/metrics.jsonl");
  EXPECT_EQ(dir->SamplesPath("sft"), root + "/sft/samples.jsonl");
}

TEST(RunDirTest, SameRunYamlReopensDifferentOneIsRefused) {
  std::string root = FreshPath("refuse");
  ASSERT_TRUE(RunDir::Create(root, "a: 1\nb: 2\n").ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(root, "journal"), "").ok());  // now non-empty
  EXPECT_TRUE(RunDir::Create(root, "a: 1\nb: 2\n").ok());
  absl::StatusOr<RunDir> other = RunDir::Create(root, "a: 1\nb: 3\n");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(),
              HasSubstr("holds a different run (line 2: run.yaml has \"b: 2\", this config "
                        "\"b: 3\")"));
  EXPECT_EQ(*ReadFile(JoinPath(root, "run.yaml")), "a: 1\nb: 2\n");  // untouched
}

TEST(RunDirTest, NonEmptyDirectoryWithoutRunYamlIsRefusedEmptyOneIsUsed) {
  std::string root = FreshPath("foreign");
  ASSERT_TRUE(MakeDirs(root).ok());
  EXPECT_TRUE(RunDir::Create(root, "x\n").ok());  // empty: fine

  std::string foreign = FreshPath("foreign2");
  ASSERT_TRUE(MakeDirs(foreign).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(foreign, "notes.txt"), "hi").ok());
  absl::StatusOr<RunDir> dir = RunDir::Create(foreign, "x\n");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(dir.status().message(), HasSubstr("is not empty and has no run.yaml"));
  EXPECT_FALSE(PathExists(JoinPath(foreign, "run.yaml")));
}

TEST(RunDirTest, OpenNeedsRunYaml) {
  std::string root = FreshPath("open");
  EXPECT_EQ(RunDir::Open(root).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(RunDir::Create(root, "y\n").ok());
  absl::StatusOr<RunDir> dir = RunDir::Open(root);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir->ReadRunYaml(), "y\n");
}

TEST(RunDirTest, CheckpointNames) {
  EXPECT_EQ(CheckpointName(0), "step-000000");
  EXPECT_EQ(CheckpointName(120), "step-000120");
  EXPECT_EQ(CheckpointName(1234567), "step-1234567");
  EXPECT_EQ(ParseCheckpointName("step-000120"), 120);
  EXPECT_EQ(ParseCheckpointName("step-1234567"), 1234567);
  EXPECT_EQ(ParseCheckpointName("step-000120.tmp-77-0"), std::nullopt);
  EXPECT_EQ(ParseCheckpointName("step-12"), std::nullopt);
  EXPECT_EQ(ParseCheckpointName("step--00012"), std::nullopt);
  EXPECT_EQ(ParseCheckpointName("latest"), std::nullopt);
}

TEST(RunDirTest, AtomicCheckpointsAndNewestCompleteLookup) {
  absl::StatusOr<RunDir> dir = RunDir::Create(FreshPath("ckpt"), "z\n");
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<std::optional<int64_t>> none = dir->LatestCheckpointStep("sft");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::nullopt);

  for (int64_t step : {20, 100, 40}) {
    absl::StatusOr<std::string> tmp = dir->BeginCheckpoint("sft", step);
    ASSERT_TRUE(tmp.ok()) << tmp.status();
    EXPECT_FALSE(PathExists(dir->CheckpointDir("sft", step)));  // invisible until committed
    ASSERT_TRUE(WriteFileAtomic(JoinPath(*tmp, "trainer_state.json"), "{}").ok());
    ASSERT_TRUE(dir->CommitCheckpoint(*tmp, "sft", step).ok());
    EXPECT_FALSE(PathExists(*tmp));
    EXPECT_TRUE(PathExists(JoinPath(dir->CheckpointDir("sft", step), "trainer_state.json")));
  }
  // A crash mid-write of step 120 leaves only its temp dir; a stray file is ignored too.
  absl::StatusOr<std::string> torn = dir->BeginCheckpoint("sft", 120);
  ASSERT_TRUE(torn.ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(*torn, "model.safetensors"), "half").ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir->CheckpointsDir("sft"), "step-000999"), "").ok());

  EXPECT_THAT(*dir->CheckpointSteps("sft"), ElementsAre(20, 40, 100));
  EXPECT_EQ(**dir->LatestCheckpointStep("sft"), 100);

  // Committing over an existing checkpoint is refused.
  absl::StatusOr<std::string> again = dir->BeginCheckpoint("sft", 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(dir->CommitCheckpoint(*again, "sft", 100).code(), absl::StatusCode::kAlreadyExists);

  absl::StatusOr<int> removed = dir->RemoveIncompleteCheckpoints("sft");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);  // the torn step-120 and the refused step-100 temp dirs
  EXPECT_FALSE(PathExists(*torn));
  EXPECT_THAT(*dir->CheckpointSteps("sft"), ElementsAre(20, 40, 100));
  EXPECT_THAT(*dir->CheckpointSteps("other"), IsEmpty());
}

}  // namespace
}  // namespace r1
