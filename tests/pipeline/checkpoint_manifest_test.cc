// Checkpoint manifests: written over every file, and every kind of damage is caught and named.
#include "pipeline/checkpoint_manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "base/file_util.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

class CheckpointManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_manifest_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "model.safetensors"), std::string(5000, 'w')).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "trainer_state.json"), R"({"step": 4})").ok());
    ASSERT_TRUE(MakeDirs(JoinPath(dir_, "tokenizer")).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "tokenizer/tokenizer.json"), "{}").ok());
    ASSERT_TRUE(WriteCheckpointManifest(dir_).ok());
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }

  std::string Error() {
    absl::Status s = VerifyCheckpointManifest(dir_);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    return std::string(s.message());
  }
  std::string dir_;
};

TEST_F(CheckpointManifestTest, IntactCheckpointVerifiesAndListsEveryFile) {
  EXPECT_TRUE(VerifyCheckpointManifest(dir_).ok());
  auto text = ReadFile(JoinPath(dir_, kManifestFile));
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("\"model.safetensors\""));
  EXPECT_THAT(*text, HasSubstr("\"tokenizer/tokenizer.json\""));
  EXPECT_THAT(*text, HasSubstr("\"size\": 5000"));
  // A file nobody listed (e.g. a note a user left) does not make the checkpoint untrusted.
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "NOTES"), "x").ok());
  EXPECT_TRUE(VerifyCheckpointManifest(dir_).ok());
}

TEST_F(CheckpointManifestTest, TruncatedFileIsNamedWithBothSizes) {
  ASSERT_EQ(truncate(JoinPath(dir_, "model.safetensors").c_str(), 1000), 0);
  EXPECT_THAT(Error(), HasSubstr("model.safetensors: 1000 bytes, the manifest says 5000"));
}

TEST_F(CheckpointManifestTest, SameSizeCorruptionFailsTheHash) {
  ASSERT_TRUE(
      WriteFileAtomic(JoinPath(dir_, "model.safetensors"), std::string(4999, 'w') + "x").ok());
  EXPECT_THAT(Error(), HasSubstr("model.safetensors: SHA-256"));
}

TEST_F(CheckpointManifestTest, MissingFileAndMissingOrBrokenManifest) {
  ASSERT_TRUE(RemoveAll(JoinPath(dir_, "tokenizer/tokenizer.json")).ok());
  EXPECT_THAT(Error(), HasSubstr("tokenizer/tokenizer.json: missing"));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, kManifestFile), "{\"files\": [").ok());
  EXPECT_THAT(Error(), HasSubstr("is not a r1-checkpoint-manifest-v1 manifest"));
  ASSERT_TRUE(RemoveAll(JoinPath(dir_, kManifestFile)).ok());
  EXPECT_THAT(Error(), HasSubstr("no manifest.json"));
}

TEST_F(CheckpointManifestTest, PathsOutsideTheCheckpointAreRefused) {
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, kManifestFile),
                              R"({"format": "r1-checkpoint-manifest-v1", "files": [)"
                              R"({"path": "../../etc/passwd", "size": 1, "sha256": "00"}]})")
                  .ok());
  EXPECT_THAT(Error(), HasSubstr("a path outside the checkpoint: ../../etc/passwd"));
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, kManifestFile),
                              R"({"format": "r1-checkpoint-manifest-v1", "files": [{"path": 3}]})")
                  .ok());
  EXPECT_THAT(Error(), HasSubstr("malformed entry"));
}

}  // namespace
}  // namespace r1
