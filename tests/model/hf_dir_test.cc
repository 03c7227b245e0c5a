// Tests of Hugging Face model directories: save/load round trips (single file and sharded),
// hand-built sharded directories, their error cases, and the atomic-replace contract.
#include "model/hf_dir.h"

#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

// A tokenizer that only knows how to save itself (or fail to).
class FakeTokenizer : public Tokenizer {
 public:
  explicit FakeTokenizer(bool fail_save = false) : fail_save_(fail_save) {}
  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view) const override {
    return std::vector<int32_t>{};
  }
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t>) const override { return ""; }
  int32_t vocab_size() const override { return 3; }
  std::optional<int32_t> TokenId(absl::string_view) const override { return std::nullopt; }
  int32_t eos_id() const override { return 1; }
  int32_t pad_id() const override { return 2; }
  absl::Status SaveTo(const std::string& dir) const override {
    if (fail_save_) return absl::InternalError("fake tokenizer refuses to save");
    return WriteFileAtomic(JoinPath(dir, "fake_tokenizer.json"), "{\"fake\": true}\n");
  }

 private:
  bool fail_save_;
};

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class HfDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = JoinPath(::testing::TempDir(), "hf_dir_test.XXXXXX");
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    config_ = {{"model_type", "qwen2"}, {"hidden_size", 4}, {"tie_word_embeddings", false}};
    tensors_["model.embed_tokens.weight"] = at::arange(12, at::kFloat).reshape({3, 4});
    tensors_["model.norm.weight"] = at::ones({4}, at::kBFloat16);
    tensors_["lm_head.weight"] = at::linspace(-1, 1, 12).reshape({3, 4}).to(at::kHalf);
  }
  void TearDown() override { RemoveAll(root_).IgnoreError(); }
  std::string Path(const std::string& name) const { return JoinPath(root_, name); }

  void ExpectSameTensors(const NamedTensors& got, const NamedTensors& want) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [name, t] : want) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(got.count(name));
      EXPECT_EQ(got.at(name).scalar_type(), t.scalar_type());
      EXPECT_TRUE(at::equal(got.at(name), t));
    }
  }

  // A sharded directory written by hand: config + the given shards + an index of `weight_map`.
  void WriteShardedDir(const std::string& dir, const std::map<std::string, NamedTensors>& shards,
                       const nlohmann::json& weight_map) {
    ASSERT_TRUE(MakeDirs(dir).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "config.json"), config_.dump()).ok());
    for (const auto& [file, tensors] : shards) {
      ASSERT_TRUE(WriteSafetensors(JoinPath(dir, file), tensors).ok());
    }
    nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}};
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "model.safetensors.index.json"), index.dump()).ok());
  }

  std::string root_;
  nlohmann::json config_;
  NamedTensors tensors_;
};

TEST_F(HfDirTest, SaveThenLoadRoundTripsEverything) {
  const std::string dir = Path("out");
  FakeTokenizer tokenizer;
  HfSaveOptions options;
  options.generation_config = nlohmann::json{{"eos_token_id", 1}};
  ASSERT_TRUE(SaveHfModelDir(dir, config_, tensors_, &tokenizer, options).ok());
  EXPECT_EQ(ListDir(dir),
            (std::vector<std::string>{"config.json", "fake_tokenizer.json",
                                      "generation_config.json", "model.safetensors"}));
  // config.json is pretty-printed with 2 spaces, keys sorted, newline-terminated.
  EXPECT_EQ(*ReadFile(JoinPath(dir, "config.json")),
            "{\n  \"hidden_size\": 4,\n  \"model_type\": \"qwen2\",\n"
            "  \"tie_word_embeddings\": false\n}\n");
  auto st = OpenSafetensors(JoinPath(dir, "model.safetensors"));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->metadata(), (SafetensorsMetadata{{"format", "pt"}}));

  auto loaded = LoadHfModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config, config_);
  ASSERT_TRUE(loaded->generation_config.has_value());
  EXPECT_EQ(*loaded->generation_config, *options.generation_config);
  ExpectSameTensors(loaded->tensors, tensors_);
  // Nothing but the directory itself is left beside it.
  EXPECT_EQ(ListDir(root_), std::vector<std::string>{"out"});
}

TEST_F(HfDirTest, ShardedSaveWritesIndexAndLoadsBack) {
  const std::string dir = Path("sharded");
  HfSaveOptions options;
  options.max_shard_bytes = 56;
  ASSERT_TRUE(SaveHfModelDir(dir, config_, tensors_, nullptr, options).ok());
  EXPECT_EQ(ListDir(dir), (std::vector<std::string>{
                              "config.json", "model-00001-of-00002.safetensors",
                              "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));
  auto index = nlohmann::json::parse(*ReadFile(JoinPath(dir, "model.safetensors.index.json")));
  // Name order: lm_head.weight (24 B F16) + model.embed_tokens.weight (48 B F32) = 72 > 56 ->
  // split; embed + model.norm.weight (8 B BF16) = 56 <= 56 -> same shard.
  const nlohmann::json want_index = {
      {"metadata", {{"total_size", 80}}},
      {"weight_map",
       {{"lm_head.weight", "model-00001-of-00002.safetensors"},
        {"model.embed_tokens.weight", "model-00002-of-00002.safetensors"},
        {"model.norm.weight", "model-00002-of-00002.safetensors"}}}};
  EXPECT_EQ(index, want_index);
  auto loaded = LoadHfModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameTensors(loaded->tensors, tensors_);
  EXPECT_FALSE(loaded->generation_config.has_value());
}

TEST_F(HfDirTest, OversizedTensorGetsItsOwnShardAndOneShardIsASingleFile) {
  HfSaveOptions tiny;
  tiny.max_shard_bytes = 1;
  ASSERT_TRUE(SaveHfModelDir(Path("tiny"), config_, tensors_, nullptr, tiny).ok());
  EXPECT_TRUE(PathExists(JoinPath(Path("tiny"), "model-00003-of-00003.safetensors")));
  ExpectSameTensors(LoadHfModelDir(Path("tiny"))->tensors, tensors_);

  HfSaveOptions big;
  big.max_shard_bytes = 1 << 20;
  ASSERT_TRUE(SaveHfModelDir(Path("big"), config_, tensors_, nullptr, big).ok());
  EXPECT_EQ(ListDir(Path("big")), (std::vector<std::string>{"config.json", "model.safetensors"}));
}

TEST_F(HfDirTest, LoadsHandBuiltShardedDir) {
  const std::string dir = Path("hand");
  WriteShardedDir(dir,
                  {{"a.safetensors", {{"x", at::ones({2})}}},
                   {"b.safetensors", {{"y", at::zeros({1}, at::kHalf)}, {"z", at::ones({1})}}}},
                  {{"x", "a.safetensors"}, {"y", "b.safetensors"}, {"z", "b.safetensors"}});
  auto loaded = LoadHfModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->tensors.size(), 3u);
  EXPECT_TRUE(at::equal(loaded->tensors.at("y"), at::zeros({1}, at::kHalf)));
}

TEST_F(HfDirTest, MissingShardIsNotFoundNamingIt) {
  const std::string dir = Path("missing_shard");
  WriteShardedDir(dir, {{"a.safetensors", {{"x", at::ones({2})}}}},
                  {{"x", "a.safetensors"}, {"y", "gone.safetensors"}});
  auto loaded = LoadHfModelDir(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("gone.safetensors"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("\"y\""));
}

TEST_F(HfDirTest, TensorListedButAbsentIsAnErrorNamingIt) {
  const std::string dir = Path("absent");
  WriteShardedDir(dir, {{"a.safetensors", {{"x", at::ones({2})}}}},
                  {{"x", "a.safetensors"}, {"ghost", "a.safetensors"}});
  auto loaded = LoadHfModelDir(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("\"ghost\""));
  EXPECT_THAT(loaded.status().message(), HasSubstr("a.safetensors"));
}

TEST_F(HfDirTest, SameTensorInTwoShardsIsAnError) {
  const std::string dir = Path("dup");
  WriteShardedDir(dir,
                  {{"a.safetensors", {{"x", at::ones({2})}}},
                   {"b.safetensors", {{"x", at::zeros({2})}, {"y", at::ones({1})}}}},
                  {{"x", "a.safetensors"}, {"y", "b.safetensors"}});
  auto loaded = LoadHfModelDir(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("\"x\" is in two shards"));
}

TEST_F(HfDirTest, BadIndexEntriesAreRejected) {
  const std::string dir = Path("escape");
  WriteShardedDir(dir, {{"a.safetensors", {{"x", at::ones({2})}}}}, {{"x", "../a.safetensors"}});
  auto loaded = LoadHfModelDir(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("model.safetensors.index.json"));

  ASSERT_TRUE(
      WriteFileAtomic(JoinPath(dir, "model.safetensors.index.json"), R"({"weights": {}})").ok());
  loaded = LoadHfModelDir(dir);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("weight_map"));
}

TEST_F(HfDirTest, MissingOrBrokenPiecesAreReportedByFile) {
  auto missing_dir = LoadHfModelDir(Path("nowhere"));
  EXPECT_EQ(missing_dir.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing_dir.status().message(), HasSubstr("nowhere"));

  const std::string dir = Path("broken");
  ASSERT_TRUE(MakeDirs(dir).ok());
  auto no_config = LoadHfModelDir(dir);
  EXPECT_EQ(no_config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_config.status().message(), HasSubstr("config.json"));

  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "config.json"), "{\"hidden_size\": ").ok());
  auto bad_config = LoadHfModelDir(dir);
  EXPECT_EQ(bad_config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_config.status().message(), HasSubstr(JoinPath(dir, "config.json")));

  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "config.json"), "{}").ok());
  auto no_weights = LoadHfModelDir(dir);
  EXPECT_EQ(no_weights.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_weights.status().message(), HasSubstr("model.safetensors"));

  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "model.safetensors"), "garbage").ok());
  auto corrupt = LoadHfModelDir(dir);
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(), HasSubstr(JoinPath(dir, "model.safetensors")));
}

TEST_F(HfDirTest, ReplacingADirRemovesStaleFilesAndLeavesNoLeftovers) {
  const std::string dir = Path("model");
  ASSERT_TRUE(SaveHfModelDir(dir, config_, tensors_, nullptr).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "stale.txt"), "old").ok());
  NamedTensors next = {{"w", at::full({2}, 3.0f)}};
  ASSERT_TRUE(SaveHfModelDir(dir + "/", config_, next, nullptr).ok());  // trailing slash too
  EXPECT_EQ(ListDir(dir), (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(ListDir(root_), std::vector<std::string>{"model"});
  ExpectSameTensors(LoadHfModelDir(dir)->tensors, next);
}

TEST_F(HfDirTest, FailedSaveLeavesThePreviousDirIntact) {
  const std::string dir = Path("model");
  FakeTokenizer tokenizer;
  ASSERT_TRUE(SaveHfModelDir(dir, config_, tensors_, &tokenizer).ok());
  const std::vector<std::string> files_before = ListDir(dir);
  const std::string weights_before = *ReadFile(JoinPath(dir, "model.safetensors"));

  // A tensor the format cannot hold, then a tokenizer that fails to save, then a bad config.
  NamedTensors bad = tensors_;
  bad["z"] = at::zeros({2}, at::kComplexFloat);
  absl::Status s1 = SaveHfModelDir(dir, config_, bad, &tokenizer);
  EXPECT_EQ(s1.code(), absl::StatusCode::kInvalidArgument) << s1;
  FakeTokenizer failing(/*fail_save=*/true);
  absl::Status s2 = SaveHfModelDir(dir, config_, {{"w", at::ones({1})}}, &failing);
  EXPECT_THAT(s2.message(), HasSubstr("refuses"));
  absl::Status s3 = SaveHfModelDir(dir, nlohmann::json::array(), tensors_, nullptr);
  EXPECT_EQ(s3.code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(ListDir(dir), files_before);
  EXPECT_EQ(*ReadFile(JoinPath(dir, "model.safetensors")), weights_before);
  EXPECT_EQ(ListDir(root_), std::vector<std::string>{"model"});  // temp dirs cleaned up
  auto loaded = LoadHfModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameTensors(loaded->tensors, tensors_);
}

TEST_F(HfDirTest, SavingLoadedTensorsOverTheirOwnDirWorks) {
  // The loaded tensors map files of `dir`; replacing `dir` must not disturb them.
  const std::string dir = Path("model");
  ASSERT_TRUE(SaveHfModelDir(dir, config_, tensors_, nullptr).ok());
  auto loaded = LoadHfModelDir(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(SaveHfModelDir(dir, loaded->config, loaded->tensors, nullptr).ok());
  ExpectSameTensors(loaded->tensors, tensors_);
  ExpectSameTensors(LoadHfModelDir(dir)->tensors, tensors_);
}

TEST_F(HfDirTest, RefusesToReplaceAFileAndCreatesParents) {
  const std::string file = Path("not_a_dir");
  ASSERT_TRUE(WriteFileAtomic(file, "x").ok());
  absl::Status s = SaveHfModelDir(file, config_, tensors_, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(*ReadFile(file), "x");

  ASSERT_TRUE(SaveHfModelDir(Path("a/b/model"), config_, tensors_, nullptr).ok());
  EXPECT_TRUE(LoadHfModelDir(Path("a/b/model")).ok());
}

}  // namespace
}  // namespace r1
