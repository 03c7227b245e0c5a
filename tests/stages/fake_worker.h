// An in-process fake of the worker group for stage-loop tests: byte tokenizer, scripted
// generations, recorded training batches, and checkpoints as small files. No model, no LibTorch.
// With generate_apart it also plays separate rollout workers (asynchronous RL): Generate may then
// run on a second thread, and the rollout copy of the policy has a version (syncs so far) that
// the sampled log-probs reveal. With score_apart it also plays trainers apart from the rollout
// workers that score reward models while GenerateStreaming runs (on another thread), and with
// stream_delay_ms it streams rollouts one by one, slowly.
#ifndef R1_TESTS_STAGES_FAKE_WORKER_H_
#define R1_TESTS_STAGES_FAKE_WORKER_H_

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
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

  // Separate rollout workers: CanGenerateWhileTraining() answers this.
  bool generate_apart = false;
  // The rollout copy's weights: 0 at the stage's input model, N after a checkpoint of step N is
  // loaded, +1 per SyncWeights. Every sampled token's log-prob is -1 - 0.01 * version.
  int64_t rollout_version = 0;
  // When set, Generate call k >= 2 waits (at most 10 s) until TrainStep has been called k - 1
  // times, which only an asynchronous loop does (it trains step k - 2 while sampling step k - 1);
  // a wait that times out counts in overlap_timeouts.
  bool require_overlap = false;
  int64_t overlap_timeouts = 0;
  int64_t syncs_during_generate = 0;  // SyncWeights calls while a Generate ran (must stay 0)

  // Reward models on workers apart from the rollout workers: CanScoreWhileGenerating() answers
  // this.
  bool score_apart = false;
  // Reward-model score of one (prompt, response) pair; unset: 0.25.
  std::function<float(const TokenSeq& prompt, const TokenSeq& response)> score;
  // GenerateStreaming hands the rollouts over one by one in request order, sleeping this long
  // before each; 0: the default (Generate, then all of them).
  int64_t stream_delay_ms = 0;
  // With stream_delay_ms: the last rollout of each GenerateStreaming call waits (at most 10 s)
  // until a Score call has begun during the call, which only scoring while decoding does; a wait
  // that times out counts in score_overlap_timeouts.
  bool stream_waits_for_score = false;
  int64_t score_overlap_timeouts = 0;
  // The Score call of this index (from 0) fails with Unavailable; -1 = never.
  int64_t fail_score_call = -1;
  int64_t score_calls = 0;             // Score calls so far
  int64_t scores_during_generate = 0;  // of them, those while a GenerateStreaming call ran

  absl::Status LoadModel(const std::string& slot, const std::string& model_dir,
                         const OptimizerOptions*, const std::string& checkpoint_dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    loads.push_back(absl::StrCat(slot, "<-", checkpoint_dir.empty() ? model_dir : checkpoint_dir));
    if (slot == "policy") {
      const size_t at = checkpoint_dir.rfind("step-");
      rollout_version = at == std::string::npos ? 0 : std::atoll(checkpoint_dir.c_str() + at + 5);
    }
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
    std::unique_lock<std::mutex> lock(mu_);
    ++generate_calls_;
    in_generate_ = true;
    if (require_overlap && generate_calls_ >= 2) {
      const size_t want = static_cast<size_t>(generate_calls_ - 1);
      if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return batches.size() >= want; })) {
        ++overlap_timeouts;
      }
    }
    std::vector<Rollout> out;
    for (const auto& r : requests) out.push_back(MakeRollout(r));
    in_generate_ = false;
    return out;
  }
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++streaming_;
      scores_at_stream_start_ = score_calls;
    }
    absl::Status s;
    if (stream_delay_ms <= 0) {
      s = WorkerClient::GenerateStreaming(slot, requests, sink);
    } else {
      for (size_t i = 0; i < requests.size() && s.ok(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(stream_delay_ms));
        Rollout r;
        {
          std::unique_lock<std::mutex> lock(mu_);
          if (stream_waits_for_score && i + 1 == requests.size() &&
              !cv_.wait_for(lock, std::chrono::seconds(10),
                            [&] { return score_calls > scores_at_stream_start_; })) {
            ++score_overlap_timeouts;
          }
          r = MakeRollout(requests[i]);
        }
        s = sink(i, std::move(r));  // on this thread, without the lock (Score may run meanwhile)
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    --streaming_;
    return s;
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches.push_back(batch);
    }
    cv_.notify_all();
    return StepMetrics{{"loss", 1.0 / static_cast<double>(batch.step + 1)}, {"tokens", 10.0}};
  }
  absl::StatusOr<std::vector<float>> Score(const std::string&, const std::vector<TokenSeq>& prompts,
                                           const std::vector<TokenSeq>& responses) override {
    std::vector<float> out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t call = score_calls++;
      if (streaming_ > 0) ++scores_during_generate;
      if (call == fail_score_call) return absl::UnavailableError("reward worker died");
    }
    cv_.notify_all();
    for (size_t i = 0; i < prompts.size() && i < responses.size(); ++i) {
      out.push_back(score ? score(prompts[i], responses[i]) : 0.25f);
    }
    return out;
  }
  absl::Status Save(const std::string&, const std::string& dir, const std::string& state,
                    bool weights_only) override {
    saves.push_back(dir);
    absl::Status s = MakeDirs(dir);
    if (s.ok()) s = WriteFileAtomic(JoinPath(dir, "config.json"), "{}");
    if (s.ok() && !weights_only) s = WriteFileAtomic(JoinPath(dir, "trainer_state.json"), state);
    return s;
  }
  absl::StatusOr<SyncStats> SyncWeights() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_generate_) ++syncs_during_generate;
    ++rollout_version;
    return SyncStats{};
  }
  bool CanGenerateWhileTraining() const override { return generate_apart; }
  bool CanScoreWhileGenerating() const override { return score_apart; }

 private:
  // One rollout of `r` (mu_ held).
  Rollout MakeRollout(const RolloutRequest& r) {
    Rollout g;
    g.text = respond(std::string(r.prompt.begin(), r.prompt.end()), r.sampling.seed);
    g.response.assign(g.text.begin(), g.text.end());
    g.response.push_back(kEos);
    g.logprobs.assign(g.response.size(), -1.0f - 0.01f * static_cast<float>(rollout_version));
    ++generated;
    return g;
  }

  // Generate may run beside the other calls (generate_apart), Score beside GenerateStreaming
  // (score_apart).
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t generate_calls_ = 0;
  bool in_generate_ = false;
  int64_t streaming_ = 0;  // GenerateStreaming calls running
  int64_t scores_at_stream_start_ = 0;
};

}  // namespace r1

#endif  // R1_TESTS_STAGES_FAKE_WORKER_H_
