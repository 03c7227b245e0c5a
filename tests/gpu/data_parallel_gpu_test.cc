// The worker's data plane on CUDA devices (label gpu; each test skips itself without the GPUs it
// needs):
//  - one process: a LocalWorker on cuda:0 trains (language model, policy gradient, reward model)
//    like the same worker on the CPU, and a bfloat16 one keeps float32 master weights;
//  - two processes on two GPUs under mpirun: NCCL data-parallel steps equal one process on the
//    whole batch, and the NCCL weight broadcast makes the receiver's policy byte-identical.
// Prints "GPU-CHECK|name|result|detail" lines for scripts/gpu-check.sh's table.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "model/hf_dir.h"
#include "tests/workers/comm_mpi_launcher.h"
#include "tests/workers/train_batches.h"
#include "workers/comm/create_communicator.h"
#include "workers/local_worker.h"
#include "workers/worker_comms.h"

namespace r1 {
namespace {

constexpr absl::Duration kOpTimeout = absl::Seconds(60);

using testing_batches::LmBatch;
using testing_batches::MaxDiff;
using testing_batches::PgBatch;
using testing_batches::RewardBatch;
using testing_batches::SavedParams;
using testing_batches::Tokens;

constexpr const char* kTinyConfig = testing_batches::kTinyQwen;
const auto Adam = testing_batches::LinearAdam;

std::string TempDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name, "_", ::getpid());
  EXPECT_TRUE(RemoveAll(dir).ok());
  EXPECT_TRUE(MakeDirs(dir).ok());
  return dir;
}

TEST(DataParallelGpuTest, WorkerOnCudaTrainsLikeTheCpuWorker) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  at::globalContext().setAllowTF32CuBLAS(false);  // fp32 parity, not TF32's 10-bit mantissa
  LocalWorkerOptions gpu_options;
  gpu_options.device = "cuda:0";
  LocalWorker gpu(gpu_options), cpu;
  const OptimizerOptions adam = Adam();
  for (LocalWorker* w : {&gpu, &cpu}) {
    ASSERT_TRUE(w->InitModel("policy", kTinyConfig, "byte", 3, &adam).ok());
    ASSERT_TRUE(w->InitModel("reward", kTinyConfig, "byte", 4, &adam).ok());
  }
  const std::string dir = TempDir("worker_cuda");
  double worst = 0;
  int step = 0;
  for (const char* objective : {"language model", "policy gradient", "reward model"}) {
    TrainBatch batch = objective[0] == 'l'   ? LmBatch(cpu)
                       : objective[0] == 'p' ? PgBatch(cpu)
                                             : RewardBatch(cpu);
    batch.step = step++;
    const std::string slot = objective[0] == 'r' ? "reward" : "policy";
    absl::StatusOr<StepMetrics> on_gpu = gpu.TrainStep(slot, batch);
    absl::StatusOr<StepMetrics> on_cpu = cpu.TrainStep(slot, batch);
    ASSERT_TRUE(on_gpu.ok()) << objective << ": " << on_gpu.status();
    ASSERT_TRUE(on_cpu.ok()) << objective << ": " << on_cpu.status();
    EXPECT_NEAR(on_gpu->at("loss"), on_cpu->at("loss"), 1e-4) << objective;
    const double diff =
        MaxDiff(SavedParams(gpu, dir + "/gpu", slot), SavedParams(cpu, dir + "/cpu", slot));
    EXPECT_LT(diff, 1e-4) << objective;
    worst = std::max(worst, diff);
  }
  // Rollouts and log-probs on the device agree with the CPU's.
  std::vector<RolloutRequest> requests(4);
  const std::vector<TokenSeq> prompts = Tokens(cpu, {"1+1=", "User: 2+3\n", "ab", "Q"});
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].prompt = prompts[i];
    requests[i].sampling.temperature = 0.0f;
    requests[i].sampling.max_new_tokens = 16;
  }
  auto gpu_rollouts = gpu.Generate("policy", requests);
  ASSERT_TRUE(gpu_rollouts.ok()) << gpu_rollouts.status();
  std::vector<TokenSeq> responses;
  for (const Rollout& r : *gpu_rollouts) responses.push_back(r.response);
  auto gpu_lp = gpu.Logprobs("policy", prompts, responses, 1.0f);
  auto cpu_lp = cpu.Logprobs("policy", prompts, responses, 1.0f);
  ASSERT_TRUE(gpu_lp.ok() && cpu_lp.ok());
  double lp_diff = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    for (size_t t = 0; t < responses[i].size(); ++t) {
      lp_diff = std::max<double>(lp_diff, std::abs((*gpu_lp)[i][t] - (*cpu_lp)[i][t]));
      // What the rollout engine reported equals what the trainer recomputes.
      EXPECT_NEAR((*gpu_rollouts)[i].logprobs[t], (*gpu_lp)[i][t], 1e-3);
    }
  }
  EXPECT_LT(lp_diff, 1e-3);
  std::printf(
      "GPU-CHECK|worker train step cuda vs cpu (f32)|%s|max param diff %.2e, logprob diff %.2e\n",
      worst < 1e-4 && lp_diff < 1e-3 ? "passed" : "FAILED", worst, lp_diff);
  EXPECT_TRUE(RemoveAll(dir).ok());
}

TEST(DataParallelGpuTest, Bfloat16KeepsFloat32MastersAndResumesExactly) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  LocalWorkerOptions options;
  options.device = "cuda:0";
  options.dtype = "bfloat16";
  const OptimizerOptions adam = Adam();
  const std::string dir = TempDir("worker_bf16");
  LocalWorker worker(options);
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 3, &adam).ok());
  TrainBatch batch = PgBatch(worker);
  for (int step = 0; step < 3; ++step) {
    batch.step = step;
    auto m = worker.TrainStep("policy", batch);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_TRUE(std::isfinite(m->at("loss")));
  }
  ASSERT_TRUE(worker.Save("policy", dir + "/ckpt", "{}", /*weights_only=*/false).ok());
  EXPECT_TRUE(PathExists(dir + "/ckpt/master_weights.pt"));
  LocalWorker resumed(options);
  ASSERT_TRUE(resumed.LoadModel("policy", dir + "/ckpt", &adam, dir + "/ckpt").ok());
  batch.step = 3;
  ASSERT_TRUE(worker.TrainStep("policy", batch).ok());
  ASSERT_TRUE(resumed.TrainStep("policy", batch).ok());
  const double diff = MaxDiff(SavedParams(worker, dir + "/a"), SavedParams(resumed, dir + "/b"));
  EXPECT_EQ(diff, 0.0);
  std::printf("GPU-CHECK|bf16 train + exact resume on cuda|%s|resumed vs uninterrupted diff %.1e\n",
              diff == 0.0 ? "passed" : "FAILED", diff);
  EXPECT_TRUE(RemoveAll(dir).ok());
}

// Two ranks, two GPUs: `mode` "dp" = both are trainers (NCCL gradient all-reduce) and each
// compares with a single-process worker on its own GPU; "sync" = trainer + rollout worker, and the
// NCCL broadcast must leave the rollout policy byte-identical.
void TwoRankCase(const std::string& mode) {
  auto world = CreateCommunicator(CommOptions());
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_EQ((*world)->size(), 2);
  const int rank = (*world)->rank();
  at::globalContext().setAllowTF32CuBLAS(false);
  WorkerCommsOptions comm_options;
  comm_options.is_trainer = mode == "dp" || rank == 0;
  comm_options.in_weight_sync = mode == "sync";
  comm_options.backend = CommBackend::kNccl;
  comm_options.use_gpu = true;
  comm_options.cuda_device = rank;
  comm_options.timeout = kOpTimeout;
  absl::StatusOr<WorkerComms> comms = CreateWorkerComms(comm_options);
  ASSERT_TRUE(comms.ok()) << comms.status();
  LocalWorkerOptions options;
  options.device = absl::StrCat("cuda:", rank);
  options.trainer_comm = comms->trainer.get();
  options.weight_sync_comm = comms->weight_sync.get();
  options.collective_timeout = kOpTimeout;
  LocalWorker worker(options);
  const OptimizerOptions adam = Adam();
  ASSERT_TRUE(worker.InitModel("policy", kTinyConfig, "byte", 11, &adam).ok());
  const std::string dir = TempDir(absl::StrCat("nccl_", mode, "_", rank));
  if (mode == "dp") {
    LocalWorkerOptions alone_options;
    alone_options.device = options.device;
    LocalWorker alone(alone_options);
    ASSERT_TRUE(alone.InitModel("policy", kTinyConfig, "byte", 11, &adam).ok());
    TrainBatch batch = PgBatch(alone);
    TrainBatch shard = batch;
    const size_t half = batch.prompts.size() / 2, begin = rank == 0 ? 0 : half,
                 end = rank == 0 ? half : batch.prompts.size();
    auto rows = [&](auto& v) { v = std::decay_t<decltype(v)>(v.begin() + begin, v.begin() + end); };
    rows(shard.prompts);
    rows(shard.responses);
    rows(shard.advantages);
    rows(shard.old_logprobs);
    rows(shard.ref_logprobs);
    // A rank with a malformed shard fails the step on both ranks (its own error here, Aborted
    // on the other), and the group still works for the real step.
    TrainBatch bad = shard;
    if (rank == 1) bad.advantages.pop_back();
    auto failed = worker.TrainStep("policy", bad);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(),
              rank == 1 ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kAborted)
        << failed.status();
    auto dp = worker.TrainStep("policy", shard);
    auto single = alone.TrainStep("policy", batch);
    ASSERT_TRUE(dp.ok()) << dp.status();
    ASSERT_TRUE(single.ok()) << single.status();
    const double diff = MaxDiff(SavedParams(worker, dir + "/dp"), SavedParams(alone, dir + "/one"));
    EXPECT_LT(diff, 1e-5);
    if (rank == 0) {
      std::printf("GPU-CHECK|nccl 2-rank DP step vs one process|%s|max param diff %.2e\n",
                  diff < 1e-5 ? "passed" : "FAILED", diff);
    }
  } else {
    if (rank == 0) {
      TrainBatch batch = PgBatch(worker);
      ASSERT_TRUE(worker.TrainStep("policy", batch).ok());
    }
    auto sync = worker.SyncWeights();
    ASSERT_TRUE(sync.ok()) << sync.status();
    EXPECT_TRUE(worker.Save("policy", dir + "/synced", "", true).ok());
    auto bytes = ReadFile(dir + "/synced/model.safetensors");
    ASSERT_TRUE(bytes.ok());
    auto all = (*world)->AllGatherBytes(*bytes, {kOpTimeout});
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_TRUE((*all)[0] == (*all)[1]);
    if (rank == 0) {
      std::printf("GPU-CHECK|nccl weight broadcast, byte-identical|%s|%lld bytes in %.4f s\n",
                  (*all)[0] == (*all)[1] ? "passed" : "FAILED",
                  static_cast<long long>(sync->bytes_moved), sync->seconds);
    }
  }
  EXPECT_TRUE(RemoveAll(dir).ok());
}

TEST(DataParallelGpuTest, NcclTwoRankStepEqualsOneProcess) {
  if (torch::cuda::device_count() < 2) {
    std::printf(
        "GPU-CHECK|nccl 2-rank DP step vs one process|skipped|needs 2 GPUs (NCCL: one rank per "
        "GPU)\n");
    GTEST_SKIP() << "needs 2 CUDA devices (NCCL allows one rank per GPU)";
  }
  R1_RUN_UNDER_MPIRUN(absl::Seconds(180), 2);
  TwoRankCase("dp");
}

TEST(DataParallelGpuTest, NcclWeightBroadcastIsByteIdentical) {
  if (torch::cuda::device_count() < 2) {
    std::printf(
        "GPU-CHECK|nccl weight broadcast, byte-identical|skipped|needs 2 GPUs (NCCL: one rank per "
        "GPU)\n");
    GTEST_SKIP() << "needs 2 CUDA devices (NCCL allows one rank per GPU)";
  }
  R1_RUN_UNDER_MPIRUN(absl::Seconds(180), 2);
  TwoRankCase("sync");
}

}  // namespace
}  // namespace r1
