// `r1 run` of a small GRPO pipeline (pretrain -> GRPO -> eval) with its workers on a GPU
// (`cluster.device: cuda`): colocated in float32 and in bfloat16 (float32 master weights), and
// disaggregated (a trainer and a rollout worker; NCCL carries the weight sync when there are two
// GPUs, MPI through host copies when both ranks share one GPU, since NCCL allows one rank per
// GPU). Skips where no CUDA device is visible. Prints "GPU-CHECK|name|result|detail" lines that
// scripts/gpu-check.sh gathers into its table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_replace.h"
#include "base/file_util.h"
#include "tests/run_r1.h"
#include "tests/test_util.h"

namespace r1 {
namespace {

using testing_util::MergedOutput;
using testing_util::R1Result;
using testing_util::RunR1;

using ::testing::HasSubstr;

// CLUSTER and DTYPE are substituted per case.
const char kGpuPipeline[] = R"(run: {name: gpu, seed: 5}
model:
  architecture: {hidden_size: 64, num_layers: 2, num_heads: 4, num_kv_heads: 2,
                 intermediate_size: 128, max_position_embeddings: 256}
  tokenizer: byte
  dtype: DTYPE
cluster: CLUSTER
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 256, seed: 1, options: {max_digits: 1}}}
  prompts: {synthetic: {kind: arithmetic, count: 64, seed: 2, options: {max_digits: 1}}}
  held_out: {synthetic: {kind: arithmetic, count: 16, seed: 9, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 1.0e-2}, batch_size: 32, steps: 40, checkpoint_every: 20}
  - name: grpo
    type: grpo
    depends_on: [pretrain]
    inputs: {model: "stage:pretrain", datasets: [prompts]}
    grpo:
      optimizer: {lr: 3.0e-3}
      steps: 4
      prompts_per_step: 4
      group_size: 8
      max_new_tokens: 32
      kl_coef: 0.01
      checkpoint_every: 2
      rewards: [{name: format}, {name: accuracy}]
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [held_out]}
    eval: {samples_per_prompt: 2, max_new_tokens: 24}
)";

class PipelineGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
    dir_ = testing_util::ScratchDir("pipeline_gpu");
  }

  // Runs the pipeline with `cluster` and `dtype`; expects every stage to succeed on the GPU.
  void RunCase(const std::string& name, const std::string& cluster, const std::string& dtype) {
    const std::string config = JoinPath(dir_, name + ".yaml");
    ASSERT_TRUE(WriteFileAtomic(config, absl::StrReplaceAll(
                                            kGpuPipeline, {{"CLUSTER", cluster}, {"DTYPE", dtype}}))
                    .ok());
    const std::string run_dir = JoinPath(dir_, name);
    R1Result r = RunR1("run " + config + " --run-dir " + run_dir, MergedOutput());
    const std::string log = ReadFile(JoinPath(run_dir, "workers.log")).value_or("");
    std::printf("GPU-CHECK|pipeline %s|%s|%.1f s wall\n", name.c_str(),
                r.exit_code == 0 ? "passed" : "FAILED", r.seconds);
    ASSERT_EQ(r.exit_code, 0) << r.out << "\nworkers.log:\n" << log;
    EXPECT_THAT(log, HasSubstr("(cuda:"));  // each worker says where its models live
    EXPECT_THAT(r.out, HasSubstr("[grpo] succeeded"));
    EXPECT_THAT(r.out, HasSubstr("pass@1"));
    EXPECT_TRUE(PathExists(JoinPath(run_dir, "grpo/metrics.jsonl")));
    EXPECT_TRUE(PathExists(JoinPath(run_dir, "report.json")));
  }

  std::string dir_;
};

TEST_F(PipelineGpuTest, ColocatedFloat32) {
  RunCase("colocated_f32",
          "{launcher: mpirun, placement: colocated, trainer_ranks: 1, device: cuda, "
          "max_stage_attempts: 1}",
          "float32");
}

TEST_F(PipelineGpuTest, ColocatedBfloat16) {
  RunCase("colocated_bf16",
          "{launcher: mpirun, placement: colocated, trainer_ranks: 1, device: cuda, "
          "max_stage_attempts: 1}",
          "bfloat16");
}

TEST_F(PipelineGpuTest, Disaggregated) {
  // NCCL needs a GPU per rank; two ranks sharing one GPU sync weights over MPI (host copies).
  const std::string backend = torch::cuda::device_count() >= 2 ? "nccl" : "mpi";
  RunCase("disaggregated_" + backend,
          "{launcher: mpirun, placement: disaggregated, trainer_ranks: 1, rollout_workers: 1, "
          "device: cuda, backend: " +
              backend + ", max_stage_attempts: 1}",
          "float32");
}

}  // namespace
}  // namespace r1
