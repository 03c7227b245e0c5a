// LocalWorker with a non-default compute dtype, the CPU stand-in for a device mismatch: a float64
// worker generates, scores and trains (language model, policy gradient, reward model) like the
// float32 one, so every tensor it makes follows the slot's options; a bfloat16 worker trains
// float32 master weights, saves them next to its checkpoint and resumes bit-identical. Also: a
// malformed device or dtype is refused with a message naming it.
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/hf_dir.h"
#include "model/threads.h"
#include "tests/test_util.h"
#include "tests/workers/train_batches.h"
#include "workers/local_worker.h"

namespace r1 {
namespace {

using testing_batches::LmBatch;
using testing_batches::MaxDiff;
using testing_batches::PgBatch;
using testing_batches::RewardBatch;
using testing_batches::Tokens;

constexpr const char* kTinyConfig = testing_batches::kTinyQwen;

std::map<std::string, at::Tensor> Saved(LocalWorker& worker, const std::string& dir,
                                        const std::string& slot) {
  return testing_batches::SavedParams(worker, dir, slot);
}

class LocalWorkerDtypeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ConfigureThreads(1); }
};

TEST_F(LocalWorkerDtypeTest, Float64WorkerMatchesFloat32) {
  const std::string dir = testing_util::ScratchDir("local_worker_f64");
  LocalWorkerOptions f64_options;
  f64_options.dtype = "float64";
  LocalWorker f64(f64_options), f32;
  const OptimizerOptions adam = testing_batches::LinearAdam();
  for (LocalWorker* w : {&f64, &f32}) {
    ASSERT_TRUE(w->InitModel("policy", kTinyConfig, "byte", 3, &adam).ok());
    ASSERT_TRUE(w->InitModel("reward", kTinyConfig, "byte", 4, &adam).ok());
  }
  // Generation (greedy and sampled) and its log-probs.
  std::vector<RolloutRequest> requests(3);
  const std::vector<TokenSeq> prompts = Tokens(f32, {"1+1=", "User: 2+3\n", "ab"});
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].prompt = prompts[i];
    requests[i].sampling.temperature = i == 0 ? 0.0f : 0.8f;
    requests[i].sampling.top_p = i == 2 ? 0.9f : 1.0f;
    requests[i].sampling.seed = 7 + i;
    requests[i].sampling.max_new_tokens = 10;
  }
  auto a = f64.Generate("policy", requests);
  auto b = f32.Generate("policy", requests);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ((*a)[i].response, (*b)[i].response) << "request " << i;
  }
  std::vector<TokenSeq> responses;
  for (const Rollout& r : *a) responses.push_back(r.response);
  auto lp64 = f64.Logprobs("policy", prompts, responses, 0.8f);
  auto lp32 = f32.Logprobs("policy", prompts, responses, 0.8f);
  ASSERT_TRUE(lp64.ok()) << lp64.status();
  ASSERT_TRUE(lp32.ok());
  for (size_t i = 0; i < responses.size(); ++i) {
    for (size_t t = 0; t < responses[i].size(); ++t) {
      EXPECT_NEAR((*lp64)[i][t], (*lp32)[i][t], 1e-4);
    }
  }
  // One step of each objective.
  TrainBatch lm = LmBatch(f32), pg = PgBatch(f32), rm = RewardBatch(f32);
  const std::vector<std::pair<TrainBatch*, std::string>> steps = {
      {&lm, "policy"}, {&pg, "policy"}, {&rm, "reward"}};
  for (size_t s = 0; s < steps.size(); ++s) {
    steps[s].first->step = static_cast<int64_t>(s);
    auto m64 = f64.TrainStep(steps[s].second, *steps[s].first);
    auto m32 = f32.TrainStep(steps[s].second, *steps[s].first);
    ASSERT_TRUE(m64.ok()) << "step " << s << ": " << m64.status();
    ASSERT_TRUE(m32.ok()) << "step " << s << ": " << m32.status();
    EXPECT_NEAR(m64->at("loss"), m32->at("loss"), 1e-4) << "step " << s;
    EXPECT_LT(
        MaxDiff(Saved(f64, dir + "/a", steps[s].second), Saved(f32, dir + "/b", steps[s].second)),
        1e-4)
        << "step " << s;
  }
  auto scores64 = f64.Score("reward", rm.prompts, rm.responses);
  auto scores32 = f32.Score("reward", rm.prompts, rm.responses);
  ASSERT_TRUE(scores64.ok()) << scores64.status();
  ASSERT_TRUE(scores32.ok());
  for (size_t i = 0; i < scores32->size(); ++i) {
    EXPECT_NEAR((*scores64)[i], (*scores32)[i], 1e-4);
  }
  // The checkpoint keeps the dtype the model was made with (float32), not the compute dtype.
  auto files = LoadHfModelDir(dir + "/a");
  ASSERT_TRUE(files.ok());
  for (const auto& [name, t] : files->tensors) EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
  EXPECT_TRUE(RemoveAll(dir).ok());
}

TEST_F(LocalWorkerDtypeTest, Bfloat16TrainsFloat32MastersAndResumesExactly) {
  const std::string dir = testing_util::ScratchDir("local_worker_bf16");
  LocalWorkerOptions options;
  options.dtype = "bfloat16";
  const OptimizerOptions adam = testing_batches::LinearAdam();
  LocalWorker straight(options);
  ASSERT_TRUE(straight.InitModel("policy", kTinyConfig, "byte", 5, &adam).ok());
  TrainBatch batch = PgBatch(straight);
  double first = 0, last = 0;
  for (int64_t s = 0; s < 6; ++s) {
    batch.step = s;
    auto m = straight.TrainStep("policy", batch);
    ASSERT_TRUE(m.ok()) << m.status();
    (s == 0 ? first : last) = m->at("loss");
    if (s == 2) ASSERT_TRUE(straight.Save("policy", dir + "/ckpt", "{}", false).ok());
  }
  EXPECT_TRUE(std::isfinite(first) && std::isfinite(last));
  EXPECT_TRUE(PathExists(dir + "/ckpt/master_weights.pt"));
  // The weights on disk are the masters rounded to the model's own dtype (float32 here), so
  // they differ from a bf16 round trip: steps far below bf16's resolution still show.
  LocalWorker resumed(options);
  ASSERT_TRUE(resumed.LoadModel("policy", dir + "/ckpt", &adam, dir + "/ckpt").ok());
  for (int64_t s = 3; s < 6; ++s) {
    batch.step = s;
    ASSERT_TRUE(resumed.TrainStep("policy", batch).ok());
  }
  ASSERT_TRUE(straight.Save("policy", dir + "/a", "", true).ok());
  ASSERT_TRUE(resumed.Save("policy", dir + "/b", "", true).ok());
  auto x = ReadFile(dir + "/a/model.safetensors");
  auto y = ReadFile(dir + "/b/model.safetensors");
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_TRUE(*x == *y) << "resumed bf16 training differs from the uninterrupted run";
  // Without the masters file, a resume would start from the saved weights: still loadable.
  ASSERT_TRUE(RemoveAll(dir + "/ckpt/master_weights.pt").ok());
  LocalWorker from_weights(options);
  EXPECT_TRUE(from_weights.LoadModel("policy", dir + "/ckpt", &adam, dir + "/ckpt").ok());
  EXPECT_TRUE(RemoveAll(dir).ok());
}

TEST_F(LocalWorkerDtypeTest, MalformedPlacementIsRefused) {
  LocalWorkerOptions bad_dtype;
  bad_dtype.dtype = "int8";
  LocalWorker a(bad_dtype);
  absl::Status s = a.InitModel("policy", kTinyConfig, "byte", 1, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("int8"));
  LocalWorkerOptions bad_device;
  bad_device.device = "gpu7";
  LocalWorker b(bad_device);
  s = b.InitModel("policy", kTinyConfig, "byte", 1, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("gpu7"));
}

}  // namespace
}  // namespace r1
