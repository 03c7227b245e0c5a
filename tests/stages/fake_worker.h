// An in-process fake of the worker group for stage-loop tests: byte tokenizer, scripted
// generations, recorded training batches, and checkpoints as small files. No model, no LibTorch.
#ifndef R1_TESTS_STAGES_FAKE_WORKER_H_
#define R1_TESTS_STAGES_FAKE_WORKER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "worker_api/worker_client.h"

namespace r1 {

class FakeWorker : public WorkerClient {
 public:
  static constexpr int32_t kEos = 257;

  // Text of the rollout for (decoded prompt, seed); default: a correct R1-format answer "0".
  std::function<std::string(const std::string& prompt, uint64_t seed)> respond =
      [](const std::string&, uint64_t) {
        return std::string("<think>t</think><answer>0</answer>");
      };
  // TrainStep fails (Unavailable) at this global step once, to simulate a crash; -1 = never.
  int64_t fail_at_step = -1;

  std::vector<TrainBatch> batches;          // every TrainStep's batch, in order
  std::vector<std::string> loads;           // "slot<-dir" (or "slot<-init"), in order
  std::vector<std::string> saves;           // directories saved, in order
  int64_t generated = 0;                    // rollouts produced
  std::vector<float> logprob_temperatures;  // the temperature of every Logprobs call, in order

  absl::Status LoadModel(const std::string& slot, const std::string& model_dir,
                         const OptimizerOptions*, const std::string& checkpoint_dir) override {
    loads.push_back(absl::StrCat(slot, "<-", checkpoint_dir.empty() ? model_dir : checkpoint_dir));
    return absl::OkStatus();
  }
  absl::Status InitModel(const std::string& slot, const std::string&, const std::string&, uint64_t,
                         const OptimizerOptions*) override {
    loads.push_back(absl::StrCat(slot, "<-init"));
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<TokenSeq>> Tokenize(const std::vector<std::string>& texts) override {
    std::vector<TokenSeq> out;
    for (const auto& t : texts) out.emplace_back(t.begin(), t.end());
    return out;
  }
  absl::StatusOr<int32_t> EosId() override { return kEos; }
  absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string&, const std::vector<RolloutRequest>& requests) override {
    std::vector<Rollout> out;
    for (const auto& r : requests) {
      Rollout g;
      g.text = respond(std::string(r.prompt.begin(), r.prompt.end()), r.sampling.seed);
      g.response.assign(g.text.begin(), g.text.end());
      g.response.push_back(kEos);
      g.logprobs.assign(g.response.size(), -1.0f);
      out.push_back(std::move(g));
      ++generated;
    }
    return out;
  }
  absl::StatusOr<std::vector<std::vector<float>>> Logprobs(const std::string&,
                                                           const std::vector<TokenSeq>&,
                                                           const std::vector<TokenSeq>& responses,
                                                           float temperature) override {
    logprob_temperatures.push_back(temperature);
    std::vector<std::vector<float>> out;
    for (const auto& r : responses) out.emplace_back(r.size(), -0.5f);
    return out;
  }
  absl::StatusOr<StepMetrics> TrainStep(const std::string&, const TrainBatch& batch) override {
    if (batch.step == fail_at_step) {
      fail_at_step = -1;
      return absl::UnavailableError("worker died");
    }
    batches.push_back(batch);
    return StepMetrics{{"loss", 1.0 / static_cast<double>(batch.step + 1)}, {"tokens", 10.0}};
  }
  absl::StatusOr<std::vector<float>> Score(const std::string&, const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>&) override {
    return std::vector<float>(prompts.size(), 0.25f);
  }
  absl::Status Save(const std::string&, const std::string& dir, const std::string& state,
                    bool weights_only) override {
    saves.push_back(dir);
    absl::Status s = MakeDirs(dir);
    if (s.ok()) s = WriteFileAtomic(JoinPath(dir, "config.json"), "{}");
    if (s.ok() && !weights_only) s = WriteFileAtomic(JoinPath(dir, "trainer_state.json"), state);
    return s;
  }
  absl::StatusOr<SyncStats> SyncWeights() override { return SyncStats{}; }
};

}  // namespace r1

#endif  // R1_TESTS_STAGES_FAKE_WORKER_H_
