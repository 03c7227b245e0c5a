// WorkerGroup: how calls fan out over trainer ranks and rollout workers, and that a stage loop
// cannot tell a group of fakes from one fake.
#include "scheduler/worker_group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "tests/stages/fake_worker.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fake that also counts weight syncs and can fail every call.
class CountingWorker : public FakeWorker {
 public:
  int syncs = 0;
  absl::Status fail;  // returned by Generate when not OK
  absl::StatusOr<SyncStats> SyncWeights() override {
    ++syncs;
    return SyncStats{100, 0.5};
  }
  absl::StatusOr<std::vector<Rollout>> Generate(
      const std::string& slot, const std::vector<RolloutRequest>& requests) override {
    if (!fail.ok()) return fail;
    return FakeWorker::Generate(slot, requests);
  }
};

std::vector<RolloutRequest> Requests(int n) {
  std::vector<RolloutRequest> out(n);
  for (int i = 0; i < n; ++i) {
    out[i].prompt = {static_cast<int32_t>('a' + i)};
    out[i].sampling.seed = static_cast<uint64_t>(i);
  }
  return out;
}

TEST(WorkerGroupTest, ShareSplitsContiguouslyWithTheRemainderFirst) {
  EXPECT_EQ(WorkerGroup::Share(7, 0, 3), std::make_pair(size_t{0}, size_t{3}));
  EXPECT_EQ(WorkerGroup::Share(7, 1, 3), std::make_pair(size_t{3}, size_t{5}));
  EXPECT_EQ(WorkerGroup::Share(7, 2, 3), std::make_pair(size_t{5}, size_t{7}));
  EXPECT_EQ(WorkerGroup::Share(1, 1, 2), std::make_pair(size_t{1}, size_t{1}));  // empty
}

TEST(WorkerGroupTest, DisaggregatedGenerationGoesToRolloutWorkersInOrder) {
  CountingWorker t0, t1, r0, r1w;
  WorkerGroup group({{"w0", &t0, true, false},
                     {"w1", &t1, true, false},
                     {"w2", &r0, false, true},
                     {"w3", &r1w, false, true}});
  ASSERT_TRUE(group.Validate().ok());
  // Rollout workers apart from the trainers may sample while the trainers train (async RL).
  EXPECT_TRUE(group.CanGenerateWhileTraining());
  CountingWorker both;
  EXPECT_FALSE(WorkerGroup({{"w0", &both, true, true}, {"w1", &r0, false, true}})
                   .CanGenerateWhileTraining());
  EXPECT_FALSE(WorkerGroup({{"w0", &both, true, true}}).CanGenerateWhileTraining());
  t0.respond = r0.respond =
      r1w.respond = [](const std::string& p, uint64_t seed) { return p + std::to_string(seed); };
  absl::StatusOr<std::vector<Rollout>> out = group.Generate("policy", Requests(5));
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<std::string> texts;
  for (const Rollout& r : *out) texts.push_back(r.text);
  EXPECT_THAT(texts, ElementsAre("a0", "b1", "c2", "d3", "e4"));
  EXPECT_EQ(r0.generated, 3);
  EXPECT_EQ(r1w.generated, 2);
  EXPECT_EQ(t0.generated + t1.generated, 0);
  // Another slot (the reference model) lives on the trainers.
  ASSERT_TRUE(group.Generate("reference", Requests(2)).ok());
  EXPECT_EQ(t0.generated, 1);
  EXPECT_EQ(t1.generated, 1);
}

// A rollout member whose streamed generation hands over its rollouts last first, and, when
// `wait_for` is set, only once that many rollouts have reached the group's caller (so it can only
// finish if the group passes on another member's rollouts while this one still decodes).
class StreamingWorker : public CountingWorker {
 public:
  std::function<size_t()> received;  // rollouts the caller has so far
  size_t wait_for = 0;
  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override {
    for (absl::Time end = absl::Now() + absl::Seconds(10);
         wait_for > 0 && received() < wait_for && absl::Now() < end;) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    absl::StatusOr<std::vector<Rollout>> all = Generate(slot, requests);
    if (!all.ok()) return all.status();
    for (size_t i = all->size(); i-- > 0;) R1_RETURN_IF_ERROR(sink(i, std::move((*all)[i])));
    return absl::OkStatus();
  }
};

TEST(WorkerGroupTest, StreamedGenerationHandsOverEachRolloutAsItsMemberFinishesIt) {
  CountingWorker t0;
  StreamingWorker r0, r1w;
  WorkerGroup group(
      {{"w0", &t0, true, false}, {"w1", &r0, false, true}, {"w2", &r1w, false, true}});
  std::mutex mu;
  std::vector<std::pair<size_t, std::string>> got;
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  };
  r1w.received = count;
  r1w.wait_for = 3;  // w2 starts only after w1's three rollouts reached the caller
  r0.respond = r1w.respond = [](const std::string& p, uint64_t) { return p; };
  absl::Status s = group.GenerateStreaming("policy", Requests(5), [&](size_t i, Rollout r) {
    std::lock_guard<std::mutex> lock(mu);
    got.emplace_back(i, r.text);
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  // w1 had requests 0-2 and w2 requests 3-4, each handed over last first, with group indices.
  EXPECT_THAT(got, ElementsAre(std::make_pair(size_t{2}, std::string("c")),
                               std::make_pair(size_t{1}, std::string("b")),
                               std::make_pair(size_t{0}, std::string("a")),
                               std::make_pair(size_t{4}, std::string("e")),
                               std::make_pair(size_t{3}, std::string("d"))));

  // A sink error ends the call with it; a member's error is named.
  r1w.wait_for = 0;
  s = group.GenerateStreaming(
      "policy", Requests(5), [](size_t, Rollout) { return absl::DataLossError("caller gave up"); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  r1w.fail = absl::UnavailableError("gone");
  s = group.GenerateStreaming("policy", Requests(5),
                              [](size_t, Rollout) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("worker w2: gone"));
}

TEST(WorkerGroupTest, TrainStepShardsEveryPerSequenceFieldAndAnEmptyShardStillRuns) {
  CountingWorker t0, t1;
  WorkerGroup group({{"w0", &t0, true, true}, {"w1", &t1, true, true}});
  TrainBatch batch;
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.step = 7;
  batch.micro_batch_size = 4;  // each rank splits its own shard
  batch.micro_batch_tokens = 512;
  for (int i = 0; i < 3; ++i) {
    batch.prompts.push_back({i});
    batch.responses.push_back({i, i});
    batch.advantages.push_back(static_cast<float>(i));
    batch.old_logprobs.push_back({-1.0f * i, -2.0f});
    batch.behaviour_logprobs.push_back({-3.0f * i, -4.0f});
  }
  absl::StatusOr<StepMetrics> m = group.TrainStep("policy", batch);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->at("trainer_ranks"), 2.0);
  ASSERT_EQ(t0.batches.size(), 1u);
  ASSERT_EQ(t1.batches.size(), 1u);
  EXPECT_THAT(t0.batches[0].advantages, ElementsAre(0.0f, 1.0f));
  EXPECT_THAT(t1.batches[0].advantages, ElementsAre(2.0f));
  EXPECT_EQ(t1.batches[0].prompts, std::vector<TokenSeq>{{2}});
  EXPECT_EQ(t1.batches[0].old_logprobs[0][0], -2.0f);
  const std::vector<std::vector<float>> last_row = {{-6.0f, -4.0f}};
  EXPECT_EQ(t1.batches[0].behaviour_logprobs, last_row);
  EXPECT_EQ(t0.batches[0].behaviour_logprobs.size(), 2u);
  EXPECT_EQ(t1.batches[0].step, 7);
  EXPECT_TRUE(t1.batches[0].ref_logprobs.empty());
  for (const CountingWorker* t : {&t0, &t1}) {
    EXPECT_EQ(t->batches[0].micro_batch_size, 4);
    EXPECT_EQ(t->batches[0].micro_batch_tokens, 512);
  }

  batch.prompts.resize(1);
  batch.responses.resize(1);
  batch.advantages.resize(1);
  batch.old_logprobs.resize(1);
  batch.behaviour_logprobs.resize(1);
  ASSERT_TRUE(group.TrainStep("policy", batch).ok());
  ASSERT_EQ(t1.batches.size(), 2u);
  EXPECT_TRUE(t1.batches[1].prompts.empty());  // joined the step with nothing to train on
}

TEST(WorkerGroupTest, LogprobsAndScoresComeBackInRequestOrder) {
  CountingWorker t0, t1, r0;
  WorkerGroup group({{"w0", &t0, true, false}, {"w1", &t1, true, false}, {"w2", &r0, false, true}});
  const std::vector<TokenSeq> prompts = {{1}, {2}, {3}};
  const std::vector<TokenSeq> responses = {{1}, {1, 2}, {1, 2, 3}};
  absl::StatusOr<std::vector<std::vector<float>>> lp =
      group.Logprobs("policy", prompts, responses, 1.0f);
  ASSERT_TRUE(lp.ok()) << lp.status();
  ASSERT_EQ(lp->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*lp)[i].size(), i + 1);
  absl::StatusOr<std::vector<float>> scores = group.Score("reward", prompts, responses);
  ASSERT_TRUE(scores.ok());
  EXPECT_EQ(scores->size(), 3u);
  EXPECT_EQ(r0.batches.size(), 0u);
  EXPECT_FALSE(group.Logprobs("policy", prompts, {{1}}, 1.0f).ok());  // mismatched lengths
}

TEST(WorkerGroupTest, SlotsSavesAndWeightSyncFollowThePlacement) {
  CountingWorker t0, t1, r0;
  WorkerGroup disaggregated(
      {{"w0", &t0, true, false}, {"w1", &t1, true, false}, {"w2", &r0, false, true}});
  OptimizerOptions adam;
  ASSERT_TRUE(disaggregated.LoadModel("policy", "/m", &adam, "").ok());
  ASSERT_TRUE(disaggregated.LoadModel("reference", "/m", nullptr, "").ok());
  EXPECT_THAT(t1.loads, ElementsAre("policy<-/m", "reference<-/m"));
  EXPECT_THAT(r0.loads, ElementsAre("policy<-/m"));
  EXPECT_EQ(r0.syncs, 0);
  // Resuming: trainers restore the checkpoint, rollout workers get it through a weight sync.
  ASSERT_TRUE(disaggregated.LoadModel("policy", "/m", &adam, "/ckpt").ok());
  EXPECT_EQ(t0.loads.back(), "policy<-/ckpt");
  EXPECT_EQ(r0.loads.back(), "policy<-/m");
  EXPECT_EQ(r0.syncs, 1);
  absl::StatusOr<SyncStats> sync = disaggregated.SyncWeights();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->bytes_moved, 100);
  EXPECT_EQ(t0.syncs + t1.syncs + r0.syncs, 6);
  ASSERT_TRUE(disaggregated.Save("policy", "/tmp/worker_group_test_save", "{}", true).ok());
  EXPECT_EQ(t0.saves.size(), 1u);
  EXPECT_TRUE(t1.saves.empty());
  RemoveAll("/tmp/worker_group_test_save").IgnoreError();

  CountingWorker c0, c1;
  WorkerGroup colocated({{"w0", &c0, true, true}, {"w1", &c1, true, true}});
  absl::StatusOr<SyncStats> free_sync = colocated.SyncWeights();
  ASSERT_TRUE(free_sync.ok());
  EXPECT_EQ(free_sync->bytes_moved, 0);
  EXPECT_EQ(c0.syncs + c1.syncs, 0);
}

// Reward models may score while the rollouts decode only when no trainer (where Score and
// Tokenize go) decodes; Score from a second thread during a streamed generation reaches only the
// trainers.
TEST(WorkerGroupTest, ScoresWhileGeneratingOnlyWhenNoTrainerDecodes) {
  CountingWorker t0, r0, both;
  WorkerGroup group({{"w0", &t0, true, false}, {"w1", &r0, false, true}});
  EXPECT_TRUE(group.CanScoreWhileGenerating());
  EXPECT_FALSE(
      WorkerGroup({{"w0", &both, true, true}, {"w1", &r0, false, true}}).CanScoreWhileGenerating());
  EXPECT_FALSE(WorkerGroup({{"w0", &both, true, true}}).CanScoreWhileGenerating());
  r0.stream_delay_ms = 2;
  std::thread scorer;
  absl::StatusOr<std::vector<float>> scores = absl::UnknownError("not called");
  absl::Status streamed = group.GenerateStreaming("policy", Requests(4), [&](size_t, Rollout) {
    if (!scorer.joinable()) {
      scorer = std::thread([&] { scores = group.Score("reward0", {{1}, {2}}, {{3}, {4}}); });
    }
    return absl::OkStatus();
  });
  scorer.join();
  ASSERT_TRUE(streamed.ok()) << streamed;
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_THAT(*scores, ElementsAre(0.25f, 0.25f));
  EXPECT_EQ(t0.score_calls, 1);
  EXPECT_EQ(r0.score_calls, 0);
  EXPECT_EQ(r0.generated, 4);
  EXPECT_EQ(t0.generated, 0);
}

TEST(WorkerGroupTest, ErrorsNameTheWorkerAndCancelStopsLaterCalls) {
  CountingWorker t0, r0;
  WorkerGroup group({{"w0", &t0, true, false}, {"w7", &r0, false, true}});
  r0.fail = absl::UnavailableError("connection reset");
  absl::StatusOr<std::vector<Rollout>> out = group.Generate("policy", Requests(2));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::IsUnavailable(out.status()));
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("worker w7: connection reset"));
  // A data-parallel rank's Aborted echo does not hide the rank that really failed.
  CountingWorker a0, a1;
  WorkerGroup ranks({{"w0", &a0, false, true}, {"w1", &a1, false, true}, {"w2", &t0, true, false}});
  a0.fail = absl::AbortedError("another rank failed the step");
  a1.fail = absl::InternalError("out of memory");
  absl::Status real = ranks.Generate("policy", Requests(2)).status();
  EXPECT_THAT(std::string(real.message()), HasSubstr("worker w1: out of memory"));
  group.Cancel();
  EXPECT_TRUE(absl::IsCancelled(group.EosId().status()));
  EXPECT_TRUE(absl::IsCancelled(group.TrainStep("policy", TrainBatch{}).status()));

  WorkerGroup no_trainer({{"w0", &t0, false, true}});
  EXPECT_THAT(std::string(no_trainer.Validate().message()), HasSubstr("no trainer"));
  WorkerGroup no_rollout({{"w0", &t0, true, false}});
  EXPECT_THAT(std::string(no_rollout.Validate().message()), HasSubstr("no rollout"));
}

}  // namespace
}  // namespace r1
