// The model on CUDA against the same model on the CPU: logits (f32 and bf16), the KV cache,
// response log-probs, state dicts, the tensor sampler and generation. Skips where no CUDA device
// is visible. Tolerances: f32 logits within 1e-4 (TF32 matmuls off), bf16 logits within 5% of the
// logit scale.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/device_sampler.h"
#include "model/generate.h"
#include "model/kv_cache.h"
#include "model/logprobs.h"
#include "model/pretrained.h"
#include "model/sampler.h"
#include "model/transformer.h"

namespace r1 {
namespace {

class ModelGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
    // Exact f32 matmuls, so that CPU and CUDA differ only by summation order.
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  const at::Device cuda_{at::kCUDA, 0};
};

ModelConfig SmallConfig() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 128;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.qkv_bias = true;
  // Logits of scale ~3 whose top gaps dwarf f32 rounding (greedy paths agree across devices),
  // and bf16 within ~1% of that scale (its error grows with larger weights).
  c.initializer_range = 0.1;
  return c;
}

CausalLm Model(const at::TensorOptions& options) {
  auto m = NewCausalLm(SmallConfig(), /*seed=*/21, options);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

struct Batch {
  at::Tensor ids, mask, pos;
};

// Two left-padded rows and one full row, on the CPU.
Batch PaddedBatch() {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  Batch b;
  b.ids = at::randint(128, {3, 10}, gen, at::kLong);
  b.mask = torch::ones({3, 10}, torch::kInt64);
  b.mask[0].narrow(0, 0, 3).fill_(0);
  b.mask[1].narrow(0, 0, 1).fill_(0);
  b.ids.masked_fill_(b.mask == 0, 0);
  b.pos = PositionIdsFromMask(b.mask);
  return b;
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kCPU, at::kDouble) - b.to(at::kCPU, at::kDouble)).abs().max().item<double>();
}

TEST_F(ModelGpuTest, F32LogitsMatchCpu) {
  CausalLm cpu = Model(at::kFloat);
  CausalLm gpu = Model(at::TensorOptions(at::kFloat).device(cuda_));
  EXPECT_TRUE(gpu->options().device().is_cuda());
  torch::NoGradGuard no_grad;
  const Batch b = PaddedBatch();
  const at::Tensor want = cpu->Forward(b.ids, b.mask, b.pos);
  // Inputs on the device, and inputs left on the CPU (moved by the model).
  const at::Tensor got = gpu->Forward(b.ids.to(cuda_), b.mask.to(cuda_), b.pos.to(cuda_));
  const at::Tensor got_cpu_inputs = gpu->Forward(b.ids, b.mask, b.pos);
  EXPECT_TRUE(got.is_cuda());
  EXPECT_EQ(got.scalar_type(), at::kFloat);
  const at::Tensor real = b.mask.unsqueeze(-1).to(at::kBool);
  EXPECT_LE(MaxAbsDiff(want.masked_select(real), got.cpu().masked_select(real)), 1e-4);
  EXPECT_LE(MaxAbsDiff(got, got_cpu_inputs), 1e-6);
}

TEST_F(ModelGpuTest, Bf16LogitsNearCpuF32) {
  CausalLm cpu = Model(at::kFloat);
  CausalLm gpu = Model(at::TensorOptions(at::kBFloat16).device(cuda_));
  torch::NoGradGuard no_grad;
  const Batch b = PaddedBatch();
  const at::Tensor real = b.mask.unsqueeze(-1).to(at::kBool);
  const at::Tensor want = cpu->Forward(b.ids, b.mask, b.pos).masked_select(real);
  const at::Tensor got = gpu->Forward(b.ids.to(cuda_), b.mask.to(cuda_), b.pos.to(cuda_));
  EXPECT_EQ(got.scalar_type(), at::kBFloat16);
  const double scale = want.abs().max().item<double>();
  EXPECT_LE(MaxAbsDiff(want, got.cpu().masked_select(real)), 0.05 * scale) << "scale " << scale;
}

TEST_F(ModelGpuTest, KvCacheDecodeMatchesFullForward) {
  CausalLm gpu = Model(at::TensorOptions(at::kFloat).device(cuda_));
  torch::NoGradGuard no_grad;
  const Batch cpu_batch = PaddedBatch();
  const Batch b{cpu_batch.ids.to(cuda_), cpu_batch.mask.to(cuda_), cpu_batch.pos.to(cuda_)};
  const at::Tensor full = gpu->Forward(b.ids, b.mask, b.pos);
  KvCache cache = gpu->NewCache(3, 10);
  EXPECT_TRUE(cache.options().device().is_cuda());
  std::vector<at::Tensor> steps = {
      gpu->Forward(b.ids.narrow(1, 0, 6), b.mask.narrow(1, 0, 6), b.pos.narrow(1, 0, 6), &cache)};
  for (int64_t t = 6; t < 10; ++t) {
    steps.push_back(
        gpu->Forward(b.ids.narrow(1, t, 1), b.mask.narrow(1, t, 1), b.pos.narrow(1, t, 1), &cache));
  }
  const at::Tensor real = b.mask.unsqueeze(-1).to(at::kBool);
  EXPECT_LE(MaxAbsDiff(at::cat(steps, 1).masked_select(real), full.masked_select(real)), 1e-4);
  cache.SelectRows(torch::tensor({2, 0}, torch::kInt64));  // CPU indices are moved
  EXPECT_EQ(cache.batch(), 2);
}

TEST_F(ModelGpuTest, LogProbsMatchCpu) {
  CausalLm cpu = Model(at::kFloat);
  CausalLm gpu = Model(at::TensorOptions(at::kFloat).device(cuda_));
  CausalLm gpu16 = Model(at::TensorOptions(at::kBFloat16).device(cuda_));
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4}, {9, 8, 7, 6, 5}};
  const std::vector<std::vector<int32_t>> responses = {{5, 6}, {7, 8, 9, 10}, {11}};
  auto want = ComputeResponseLogProbsNoGrad(*cpu, prompts, responses, 0.7f);
  auto got = ComputeResponseLogProbs(*gpu, prompts, responses, 0.7f);  // with autograd
  auto got16 = ComputeResponseLogProbsNoGrad(*gpu16, prompts, responses, 0.7f);
  ASSERT_TRUE(want.ok() && got.ok() && got16.ok()) << got.status() << got16.status();
  EXPECT_TRUE(got->logprobs.is_cuda());
  EXPECT_TRUE(got->mask.is_cuda());
  EXPECT_EQ(got16->logprobs.scalar_type(), at::kFloat);
  EXPECT_LE(MaxAbsDiff(want->logprobs, got->logprobs), 1e-4);
  EXPECT_LE(MaxAbsDiff(want->logprobs, got16->logprobs), 0.1);
  got->logprobs.sum().backward();
  EXPECT_TRUE(gpu->named_parameters()["lm_head.weight"].grad().is_cuda());
}

TEST_F(ModelGpuTest, StateDictsCrossDevices) {
  CausalLm cpu = Model(at::kFloat);
  CausalLm gpu = Model(at::TensorOptions(at::kFloat).device(cuda_));
  const NamedTensors exported = ExportStateDict(*gpu, "bfloat16");
  const auto cpu_params = cpu->named_parameters();
  for (const auto& [name, t] : exported) {
    EXPECT_TRUE(t.device().is_cpu()) << name;
    EXPECT_EQ(t.scalar_type(), at::kBFloat16) << name;
    EXPECT_TRUE(t.equal(cpu_params[name].to(at::kBFloat16))) << name;  // same init on every device
  }
  CausalLm gpu16 = Model(at::TensorOptions(at::kBFloat16).device(cuda_));
  ASSERT_TRUE(ImportStateDict(*gpu16, ExportStateDict(*cpu)).ok());
  for (const auto& p : gpu16->named_parameters()) {
    EXPECT_TRUE(p.value().is_cuda());
    EXPECT_TRUE(p.value().cpu().equal(cpu_params[p.key()].to(at::kBFloat16))) << p.key();
  }
}

TEST_F(ModelGpuTest, TensorSamplerMatchesHostSampler) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(8);
  std::vector<SamplingParams> settings(8);
  settings[0].temperature = 0.0f;
  settings[2].temperature = 0.6f;
  settings[3].top_k = 5;
  settings[4].top_p = 0.9f;
  settings[5].temperature = 1.3f;
  settings[5].top_k = 8;
  settings[5].top_p = 0.7f;
  settings[6].top_k = 1;
  settings[7].top_p = 0.05f;
  int64_t mismatches = 0, rows = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t b = 64, v = trial % 2 == 0 ? 1000 : 50;
    const at::Tensor logits = trial % 4 == 1 ? at::randint(-3, 3, {b, v}, gen, at::kFloat)
                                             : at::randn({b, v}, gen, at::kFloat) * 2.0;
    std::vector<SamplingParams> params;
    std::vector<double> u;
    for (int64_t i = 0; i < b; ++i) {
      params.push_back(settings[(trial + i) % settings.size()]);
      u.push_back(UniformForStep(trial, i));
    }
    const SampledTokens got =
        SampleTokensOnDevice(logits.to(cuda_), MakeSamplingTensors(params, cuda_),
                             torch::tensor(u, at::kDouble).to(cuda_));
    ASSERT_TRUE(got.ids.is_cuda());
    const at::Tensor ids = got.ids.cpu(), lps = got.logprobs.cpu();
    for (int64_t i = 0; i < b; ++i, ++rows) {
      absl::Span<const float> row(logits.data_ptr<float>() + i * v, v);
      const int32_t want = SampleToken(row, params[i], u[i]);
      const int64_t id = ids[i].item<int64_t>();
      if (id != want) ++mismatches;
      const double t = params[i].temperature > 0.0f ? params[i].temperature : 1.0;
      const double ref = at::log_softmax(logits[i].to(at::kDouble) / t, -1)[id].item<double>();
      EXPECT_NEAR(lps[i].item<float>(), ref, 1e-4);
    }
  }
  // Device reductions may round differently: a pick moves only when u lands on a CDF boundary.
  EXPECT_LE(mismatches, 2) << "of " << rows << " rows";
}

TEST_F(ModelGpuTest, GenerationMatchesCpu) {
  CausalLm cpu = Model(at::kFloat);
  CausalLm gpu = Model(at::TensorOptions(at::kFloat).device(cuda_));
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r;
    r.prompt_ids = std::vector<int32_t>(1 + i, 3 + i);
    r.sampling.temperature = i < 3 ? 0.0f : 0.8f;
    r.sampling.top_k = i == 4 ? 10 : 0;
    r.sampling.top_p = i == 5 ? 0.9f : 1.0f;
    r.sampling.seed = 100 + i;
    r.max_new_tokens = 12;
    if (i == 2) r.stop_token_ids = {7};
    requests.push_back(r);
  }
  auto want = Generate(*cpu, requests);
  auto got = Generate(*gpu, requests);
  auto got_alone = Generate(*gpu, requests, GenerateOptions{/*per_request=*/true});
  ASSERT_TRUE(want.ok() && got.ok() && got_alone.ok()) << got.status() << got_alone.status();
  for (size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "request " << i);
    const GenerationResult& a = (*want)[i];
    const GenerationResult& b = (*got)[i];
    ASSERT_FALSE(b.token_ids.empty());
    ASSERT_EQ(b.logprobs.size(), b.token_ids.size());
    for (size_t t = 0; t < b.token_ids.size(); ++t) {
      EXPECT_GE(b.token_ids[t], 0);
      EXPECT_LT(b.token_ids[t], 128);
      EXPECT_TRUE(std::isfinite(b.logprobs[t]) && b.logprobs[t] <= 0.0f);
    }
    // Same tokens up to the first divergence (greedy should not diverge on this model), and the
    // same log-probs there.
    size_t same = 0;
    while (same < a.token_ids.size() && same < b.token_ids.size() &&
           a.token_ids[same] == b.token_ids[same]) {
      EXPECT_NEAR(a.logprobs[same], b.logprobs[same], 1e-3) << "token " << same;
      ++same;
    }
    if (requests[i].sampling.temperature == 0.0f) {
      EXPECT_EQ(b.token_ids, a.token_ids);
      EXPECT_EQ(b.finish_reason, a.finish_reason);
    } else {
      EXPECT_GE(same, 1u);
    }
  }
  // The cache at the device is exercised by both batch layouts; greedy is layout-independent.
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*got_alone)[i].token_ids, (*got)[i].token_ids);
  // bf16 generation runs and stays in range.
  CausalLm gpu16 = Model(at::TensorOptions(at::kBFloat16).device(cuda_));
  auto got16 = Generate(*gpu16, requests);
  ASSERT_TRUE(got16.ok()) << got16.status();
  for (const GenerationResult& r : *got16) {
    for (int32_t id : r.token_ids) EXPECT_TRUE(id >= 0 && id < 128);
  }
}

}  // namespace
}  // namespace r1
