// LocalWorker as one rank of data-parallel training and of the disaggregated weight sync, under
// `mpirun -np 3`: world ranks 0 and 1 are trainers, rank 2 a rollout worker. Each trainer steps on
// its shard of a fixed global batch and must end where a private single-process worker stepping on
// the whole batch ends (parameters and metrics); then SyncWeights makes the rollout rank's policy
// bit-identical to trainer 0's. Run by CTest, the test relaunches itself under mpirun (see
// comm_mpi_launcher.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "model/hf_dir.h"
#include "tests/workers/comm_mpi_launcher.h"
#include "workers/comm/create_communicator.h"
#include "workers/local_worker.h"
#include "workers/worker_comms.h"

namespace r1 {
namespace {

// Bound on any collective that should succeed: a bug makes a test fail, never hang.
constexpr absl::Duration kOpTimeout = absl::Seconds(30);
// Bound on the whole mpirun job.
constexpr absl::Duration kJobLimit = absl::Seconds(120);
constexpr int kTrainers = 2;
constexpr int kRolloutRank = 2;

const char kTinyConfig[] = R"({"model_type": "llama", "vocab_size": 0, "hidden_size": 32,
  "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 128, "tie_word_embeddings": true,
  "torch_dtype": "float32"})";

// Adam's first step is about lr·sign(g): a gradient that is ~0 up to rounding would move by a full
// lr either way. A large eps keeps the update ~linear in g, so comparing parameters at 1e-5 tests
// the gradients rather than their rounding.
OptimizerOptions Adam() {
  OptimizerOptions o;
  o.lr = 1e-2;
  o.eps = 1e-3;
  return o;
}

// Rows [begin, end) of every per-sequence field of `batch`.
TrainBatch Shard(const TrainBatch& batch, size_t begin, size_t end) {
  auto rows = [&](const auto& v) {
    using V = std::decay_t<decltype(v)>;
    return v.empty() ? V() : V(v.begin() + begin, v.begin() + end);
  };
  TrainBatch out = batch;
  out.prompts = rows(batch.prompts);
  out.responses = rows(batch.responses);
  out.advantages = rows(batch.advantages);
  out.old_logprobs = rows(batch.old_logprobs);
  out.ref_logprobs = rows(batch.ref_logprobs);
  out.rejected = rows(batch.rejected);
  return out;
}

// Trainer `rank`'s contiguous shard when the batch is split in kTrainers (the first gets the
// larger half; with one sequence the second shard is empty).
TrainBatch ShardOf(const TrainBatch& batch, int rank) {
  const size_t n = batch.prompts.size();
  const size_t first = (n + 1) / 2;
  return rank == 0 ? Shard(batch, 0, first) : Shard(batch, first, n);
}

std::vector<TokenSeq> Tokens(LocalWorker& worker, const std::vector<std::string>& texts) {
  auto ids = worker.Tokenize(texts);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<TokenSeq>(texts.size());
}

// Five sequences with responses of very different lengths (one empty prompt: pretraining text).
TrainBatch LmBatch(LocalWorker& worker) {
  TrainBatch batch;
  batch.prompts = Tokens(worker, {"User: 12+7\nAssistant: ", "Q: 3*4? ", "", "x", "User: 9-9 "});
  batch.responses = Tokens(worker, {"<think>2+7=9</think><answer>19</answer>", "12", "hello world",
                                    "a much longer response than the others here", "0"});
  return batch;
}

// The LM batch as a policy-gradient batch: old log-probs perturbed so that ratios differ from 1
// and some clip, mixed advantages, reference log-probs for the KL term.
TrainBatch PgBatch(LocalWorker& worker, const std::string& aggregation) {
  TrainBatch batch = LmBatch(worker);
  batch.prompts[2] = Tokens(worker, {"> "})[0];  // policy gradient needs a prompt
  batch.objective = TrainBatch::Objective::kPolicyGradient;
  batch.policy_loss.aggregation = *ParseLossAggregation(aggregation);
  batch.policy_loss.kl_coef = 0.05;
  auto lp = worker.Logprobs("policy", batch.prompts, batch.responses, 1.0f);
  EXPECT_TRUE(lp.ok()) << lp.status();
  batch.old_logprobs = *lp;
  batch.ref_logprobs = *lp;
  for (size_t i = 0; i < batch.old_logprobs.size(); ++i) {
    for (size_t t = 0; t < batch.old_logprobs[i].size(); ++t) {
      batch.old_logprobs[i][t] += ((i + t) % 3 == 0) ? 0.4f : -0.1f;
      batch.ref_logprobs[i][t] -= 0.2f;
    }
  }
  batch.advantages = {1.0f, -0.5f, 0.25f, -1.0f, 0.75f};
  return batch;
}

// Preference pairs: the LM batch's responses are chosen, short ones rejected.
TrainBatch RewardBatch(LocalWorker& worker) {
  TrainBatch batch = LmBatch(worker);
  batch.prompts[2] = Tokens(worker, {"> "})[0];
  batch.objective = TrainBatch::Objective::kRewardModel;
  batch.rejected = Tokens(worker, {"no", "13", "?", "b", "zero"});
  return batch;
}

// A slot's parameters by name, as Save writes them.
std::map<std::string, at::Tensor> SlotParams(LocalWorker& worker, const std::string& dir,
                                             const std::string& slot = "policy") {
  EXPECT_TRUE(worker.Save(slot, dir, "", /*weights_only=*/true).ok());
  auto files = LoadHfModelDir(dir);
  EXPECT_TRUE(files.ok()) << files.status();
  std::map<std::string, at::Tensor> out;
  if (files.ok()) out.insert(files->tensors.begin(), files->tensors.end());
  return out;
}

std::string PolicyBytes(LocalWorker& worker, const std::string& dir) {
  EXPECT_TRUE(worker.Save("policy", dir, "", /*weights_only=*/true).ok());
  auto bytes = ReadFile(JoinPath(dir, "model.safetensors"));
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

void ExpectSameParams(const std::map<std::string, at::Tensor>& dp,
                      const std::map<std::string, at::Tensor>& single, const std::string& what) {
  ASSERT_EQ(dp.size(), single.size()) << what;
  for (const auto& [name, tensor] : single) {
    ASSERT_EQ(dp.count(name), 1u) << what << ": " << name;
    EXPECT_TRUE(torch::allclose(dp.at(name), tensor, 1e-5, 1e-5))
        << what << ": " << name << " differs by "
        << (dp.at(name) - tensor).abs().max().item<double>();
  }
}

void ExpectSameMetrics(const StepMetrics& dp, const StepMetrics& single, const std::string& what) {
  for (const auto& [key, value] : single) {
    if (key == "seconds") continue;
    ASSERT_EQ(dp.count(key), 1u) << what << ": no " << key;
    EXPECT_NEAR(dp.at(key), value, 1e-5 * std::max(1.0, std::abs(value))) << what << ": " << key;
  }
  EXPECT_EQ(dp.size(), single.size()) << what;
}

TEST(LocalWorkerDpMpiTest, TrainStepEqualsSingleProcessAndSyncReachesTheRolloutWorker) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 3);
  CommOptions world_options;
  auto world = CreateCommunicator(world_options);
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_EQ((*world)->backend(), "mpi");
  ASSERT_EQ((*world)->size(), 3);
  const int rank = (*world)->rank();
  const bool trainer = rank < kTrainers;

  WorkerCommsOptions comm_options;
  comm_options.is_trainer = trainer;
  comm_options.in_weight_sync = rank == 0 || rank == kRolloutRank;
  comm_options.timeout = kOpTimeout;
  absl::StatusOr<WorkerComms> comms = CreateWorkerComms(comm_options);
  ASSERT_TRUE(comms.ok()) << comms.status();
  EXPECT_EQ(comms->trainer != nullptr, trainer);
  EXPECT_EQ(comms->weight_sync != nullptr, comm_options.in_weight_sync);
  if (trainer) {
    EXPECT_EQ(comms->trainer->size(), kTrainers);
    EXPECT_EQ(comms->trainer->rank(), rank);
  }
  if (comms->weight_sync != nullptr) {
    EXPECT_EQ(comms->weight_sync->size(), 2);
    EXPECT_EQ(comms->weight_sync->rank(), rank == 0 ? 0 : 1);
  }

  LocalWorkerOptions options;
  options.trainer_comm = comms->trainer.get();
  options.weight_sync_comm = comms->weight_sync.get();
  options.collective_timeout = kOpTimeout;
  LocalWorker worker(options);
  const OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 11, &adam).ok());
  const std::string dir = absl::StrCat(::testing::TempDir(), "/local_worker_dp_", ::getpid());
  ASSERT_TRUE(MakeDirs(dir).ok());

  if (trainer) {
    LocalWorker single;  // the reference: one process on the whole global batch
    ASSERT_TRUE(single.InitModel("policy", kTinyConfig, "byte", 11, &adam).ok());
    ASSERT_TRUE(single.InitModel("reward", kTinyConfig, "byte", 13, &adam).ok());
    ASSERT_TRUE(worker.InitModel("reward", kTinyConfig, "byte", 13, &adam).ok());
    const std::map<std::string, at::Tensor> initial = SlotParams(single, dir + "/initial");

    struct Case {
      std::string name;
      TrainBatch batch;
      std::string slot = "policy";
    };
    std::vector<Case> cases;
    cases.push_back({"language model", LmBatch(single)});
    for (const char* aggregation :
         {"token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"}) {
      cases.push_back(
          {absl::StrCat("policy gradient ", aggregation), PgBatch(single, aggregation)});
    }
    Case lm_one{"language model, empty shard", Shard(LmBatch(single), 3, 4)};
    cases.push_back(lm_one);
    Case pg_one{"policy gradient, empty shard", Shard(PgBatch(single, "token-mean"), 0, 1)};
    cases.push_back(pg_one);
    cases.push_back({"reward model", RewardBatch(single), "reward"});
    cases.push_back({"reward model, empty shard", Shard(RewardBatch(single), 4, 5), "reward"});

    for (size_t step = 0; step < cases.size(); ++step) {
      Case& c = cases[step];
      c.batch.step = static_cast<int64_t>(step);
      TrainBatch shard = ShardOf(c.batch, rank);
      // Passes of at most 2 sequences; the single-process reference takes each batch at once.
      shard.micro_batch_size = 2;
      if (c.batch.prompts.size() == 1) {
        EXPECT_EQ(shard.prompts.size(), rank == 0 ? 1u : 0u) << c.name;
      }
      absl::StatusOr<StepMetrics> dp = worker.TrainStep(c.slot, shard);
      ASSERT_TRUE(dp.ok()) << c.name << ": " << dp.status();
      absl::StatusOr<StepMetrics> alone = single.TrainStep(c.slot, c.batch);
      ASSERT_TRUE(alone.ok()) << c.name << ": " << alone.status();
      ExpectSameMetrics(*dp, *alone, c.name);
      ExpectSameParams(SlotParams(worker, dir + "/dp", c.slot),
                       SlotParams(single, dir + "/single", c.slot), c.name);
    }
    // The steps moved the weights well beyond the tolerance, so the comparisons mean something.
    const std::map<std::string, at::Tensor> trained = SlotParams(single, dir + "/single");
    double moved = 0;
    for (const auto& [name, t] : initial) {
      moved = std::max(moved, (trained.at(name) - t).abs().max().item<double>());
    }
    EXPECT_GT(moved, 1e-2);
  }

  // Before the sync the rollout worker still holds the initial weights, trainer 0 trained ones.
  AllGatherOptions gather;
  gather.timeout = kOpTimeout;
  auto before = (*world)->AllGatherBytes(PolicyBytes(worker, dir + "/before"), gather);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE((*before)[kRolloutRank] == (*before)[0]);

  // Weight sync: every member of the group calls it; the other trainer returns at once.
  absl::StatusOr<SyncStats> sync = worker.SyncWeights();
  ASSERT_TRUE(sync.ok()) << sync.status();
  if (comm_options.in_weight_sync) {
    EXPECT_GT(sync->bytes_moved, 0);
  } else {
    EXPECT_EQ(sync->bytes_moved, 0);
    EXPECT_EQ(sync->seconds, 0.0);
  }
  // All ranks compare their policy bytes: the rollout worker's now equal trainer 0's exactly (and
  // trainer 1's, up to the tolerance checked above, but not necessarily bit for bit).
  auto all = (*world)->AllGatherBytes(PolicyBytes(worker, dir + "/synced"), gather);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_FALSE((*all)[0].empty());
  EXPECT_TRUE((*all)[kRolloutRank] == (*all)[0]) << "rollout weights differ from trainer 0's";
  EXPECT_TRUE(RemoveAll(dir).ok());
}

// A rank that fails its part of a step makes every rank fail it instead of leaving the others
// waiting in a collective: the failing rank returns its own error, the others Aborted, and the
// group still works for the next step. A weight-sync member without a policy fails the sync on
// every member of the group alike.
TEST(LocalWorkerDpMpiTest, FailuresAreAgreedOnByEveryRank) {
  R1_RUN_UNDER_MPIRUN(kJobLimit, 3);
  auto world = CreateCommunicator(CommOptions());
  ASSERT_TRUE(world.ok()) << world.status();
  const int rank = (*world)->rank();
  const bool trainer = rank < kTrainers;
  WorkerCommsOptions comm_options;
  comm_options.is_trainer = trainer;
  comm_options.in_weight_sync = rank == 0 || rank == kRolloutRank;
  comm_options.timeout = kOpTimeout;
  absl::StatusOr<WorkerComms> comms = CreateWorkerComms(comm_options);
  ASSERT_TRUE(comms.ok()) << comms.status();
  LocalWorkerOptions options;
  options.trainer_comm = comms->trainer.get();
  options.weight_sync_comm = comms->weight_sync.get();
  options.collective_timeout = kOpTimeout;
  LocalWorker worker(options);
  const OptimizerOptions adam = Adam();
  if (trainer) {
    ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 5, &adam).ok());
    TrainBatch batch = PgBatch(worker, "token-mean");
    TrainBatch shard = ShardOf(batch, rank);
    if (rank == 1) shard.advantages.pop_back();  // malformed on this rank only
    absl::StatusOr<StepMetrics> failed = worker.TrainStep("policy", shard);
    ASSERT_FALSE(failed.ok());
    if (rank == 1) {
      EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument) << failed.status();
      EXPECT_THAT(std::string(failed.status().message()), ::testing::HasSubstr("advantage"));
    } else {
      EXPECT_EQ(failed.status().code(), absl::StatusCode::kAborted) << failed.status();
    }
    absl::StatusOr<StepMetrics> next = worker.TrainStep("policy", ShardOf(batch, rank));
    ASSERT_TRUE(next.ok()) << next.status();
    double tokens = 0;
    for (const TokenSeq& r : batch.responses) tokens += static_cast<double>(r.size());
    EXPECT_EQ(next->at("tokens"), tokens);  // the global batch's, not this shard's
  }
  // The rollout rank loaded nothing: the group refuses to broadcast.
  absl::StatusOr<SyncStats> sync = worker.SyncWeights();
  if (comm_options.in_weight_sync) {
    EXPECT_EQ(sync.status().code(), absl::StatusCode::kFailedPrecondition) << sync.status();
    EXPECT_THAT(std::string(sync.status().message()), ::testing::HasSubstr("rank 1"));
  } else {
    ASSERT_TRUE(sync.ok());
    EXPECT_EQ(sync->bytes_moved, 0);
  }
}

}  // namespace
}  // namespace r1
