// Tests that the model follows its parameters' dtype and device (CausalLmImpl::options()): an f64
// model stands in for a device mismatch on this CPU-only machine (any tensor made without the
// model's options meets an f64 one and throws), a bf16 model checks reduced precision, and the
// tensor sampler (model/device_sampler.h), which generation uses off the CPU, is checked token for
// token against the host sampler.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
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

ModelConfig Tiny(double initializer_range = 0.3) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.qkv_bias = true;
  c.initializer_range = initializer_range;
  return c;
}

CausalLm Model(const at::TensorOptions& options = at::kFloat, uint64_t seed = 11,
               double initializer_range = 0.3) {
  auto m = NewCausalLm(Tiny(initializer_range), seed, options);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

// A left-padded batch: row 0 has 2 padding positions.
struct Batch {
  at::Tensor ids, mask, pos;
};
Batch PaddedBatch() {
  Batch b;
  b.ids = torch::tensor({0, 0, 5, 6, 7, 8, 1, 2, 3, 4, 9, 10}, torch::kInt64).view({2, 6});
  b.mask = torch::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, torch::kInt64).view({2, 6});
  b.pos = PositionIdsFromMask(b.mask);
  return b;
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

GenerationRequest Request(std::vector<int32_t> prompt, uint64_t seed, float temperature,
                          int32_t max_new = 10) {
  GenerationRequest r;
  r.prompt_ids = std::move(prompt);
  r.sampling.seed = seed;
  r.sampling.temperature = temperature;
  r.max_new_tokens = max_new;
  return r;
}

std::vector<GenerationRequest> MixedRequests() {
  std::vector<GenerationRequest> requests = {
      Request({1, 2, 3}, 0, 0.0f), Request({5, 6, 7, 8}, 1234, 1.0f), Request({9}, 7, 0.7f, 6),
      Request({3, 4}, 99, 1.3f, 12)};
  requests[2].sampling.top_k = 5;
  requests[3].sampling.top_p = 0.9f;
  requests[3].stop_token_ids = {17};
  return requests;
}

// ---- options() and weights ----

TEST(DeviceDtypeTest, OptionsFollowTo) {
  CausalLm m = Model();
  EXPECT_EQ(m->options().dtype(), at::kFloat);
  EXPECT_TRUE(m->options().device().is_cpu());
  m->to(at::kDouble);
  EXPECT_EQ(m->options().dtype(), at::kDouble);
  EXPECT_EQ(Model(at::kBFloat16)->options().dtype(), at::kBFloat16);
}

// InitWeights draws in f32 on the CPU whatever the dtype: the same weights, rounded.
TEST(DeviceDtypeTest, InitWeightsIndependentOfDtype) {
  CausalLm f32 = Model();
  CausalLm f64(Tiny());
  f64->to(at::kDouble);
  f64->InitWeights(11);
  CausalLm bf16(Tiny());
  bf16->to(at::kBFloat16);
  bf16->InitWeights(11);
  const auto p32 = f32->named_parameters();
  for (const auto& p : f64->named_parameters()) {
    ASSERT_EQ(p.value().scalar_type(), at::kDouble) << p.key();
    EXPECT_TRUE(p.value().equal(p32[p.key()].to(at::kDouble))) << p.key();
  }
  for (const auto& p : bf16->named_parameters()) {
    EXPECT_TRUE(p.value().equal(p32[p.key()].to(at::kBFloat16))) << p.key();
  }
}

TEST(DeviceDtypeTest, StateDictsConvertToParametersAndExportDtype) {
  CausalLm f32 = Model();
  CausalLm f64 = Model(at::kDouble, /*seed=*/5);
  ASSERT_TRUE(ImportStateDict(*f64, ExportStateDict(*f32, "bfloat16")).ok());
  for (const auto& p : f64->named_parameters()) {
    EXPECT_EQ(p.value().scalar_type(), at::kDouble);
    EXPECT_TRUE(p.value().equal(f32->named_parameters()[p.key()].to(at::kBFloat16).to(at::kDouble)))
        << p.key();
  }
  const NamedTensors out = ExportStateDict(*f64, "float32");
  for (const auto& [name, t] : out) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(t.device().is_cpu());
  }
}

// ---- f64: every tensor must be made in the model's options ----

TEST(DeviceDtypeTest, F64ForwardAgreesWithF32) {
  CausalLm f32 = Model();
  CausalLm f64 = Model(at::kDouble);
  torch::NoGradGuard no_grad;
  const Batch b = PaddedBatch();
  const at::Tensor l32 = f32->Forward(b.ids, b.mask, b.pos);
  const at::Tensor l64 = f64->Forward(b.ids, b.mask, b.pos);
  EXPECT_EQ(l64.scalar_type(), at::kDouble);
  EXPECT_EQ(f64->Hidden(b.ids, b.mask, b.pos).scalar_type(), at::kDouble);
  // Padding rows are meaningless; compare the real positions.
  const at::Tensor real = b.mask.unsqueeze(-1).to(at::kBool);
  EXPECT_LT(MaxAbsDiff(l32.masked_select(real), l64.masked_select(real)), 1e-4);
  // Prefill then one-token steps through an f64 cache give the full forward's logits.
  KvCache cache = f64->NewCache(2, 6);
  EXPECT_EQ(cache.options().dtype(), at::kDouble);
  auto step0 =
      f64->Forward(b.ids.narrow(1, 0, 4), b.mask.narrow(1, 0, 4), b.pos.narrow(1, 0, 4), &cache);
  auto step1 =
      f64->Forward(b.ids.narrow(1, 4, 2), b.mask.narrow(1, 4, 2), b.pos.narrow(1, 4, 2), &cache);
  EXPECT_LT(MaxAbsDiff(at::cat({step0, step1}, 1).masked_select(real), l64.masked_select(real)),
            1e-10);
}

TEST(DeviceDtypeTest, F64GenerateAgreesWithF32) {
  CausalLm f32 = Model();
  CausalLm f64 = Model(at::kDouble);
  const std::vector<GenerationRequest> requests = MixedRequests();
  auto a = Generate(*f32, requests);
  ASSERT_TRUE(a.ok()) << a.status();
  for (bool device_sampler : {false, true}) {
    GenerateOptions options;
    options.device_sampler = device_sampler;
    auto b = Generate(*f64, requests, options);
    ASSERT_TRUE(b.ok()) << b.status();
    for (size_t i = 0; i < requests.size(); ++i) {
      SCOPED_TRACE(testing::Message() << "request " << i << " device_sampler " << device_sampler);
      EXPECT_EQ((*b)[i].token_ids, (*a)[i].token_ids);
      ASSERT_EQ((*b)[i].logprobs.size(), (*a)[i].logprobs.size());
      for (size_t t = 0; t < (*a)[i].logprobs.size(); ++t) {
        EXPECT_NEAR((*b)[i].logprobs[t], (*a)[i].logprobs[t], 1e-4);
      }
    }
  }
}

TEST(DeviceDtypeTest, F64LogProbsAgreeWithF32) {
  CausalLm f32 = Model();
  CausalLm f64 = Model(at::kDouble);
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4}};
  const std::vector<std::vector<int32_t>> responses = {{5, 6}, {7, 8, 9}};
  auto a = ComputeResponseLogProbsNoGrad(*f32, prompts, responses, 0.7f);
  auto b = ComputeResponseLogProbs(*f64, prompts, responses, 0.7f);  // with autograd
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(a->logprobs.scalar_type(), at::kFloat);
  EXPECT_EQ(b->logprobs.scalar_type(), at::kDouble);
  EXPECT_LT(MaxAbsDiff(a->logprobs, b->logprobs), 1e-4);
  b->logprobs.sum().backward();  // gradients reach the f64 parameters
  EXPECT_EQ(f64->named_parameters()["lm_head.weight"].grad().scalar_type(), at::kDouble);
}

TEST(DeviceDtypeTest, KvCacheOnF64Options) {
  KvCache cache(/*num_layers=*/2, /*batch=*/3, /*num_kv_heads=*/2, /*capacity=*/5, /*head_dim=*/4,
                at::kDouble);
  EXPECT_EQ(cache.options().dtype(), at::kDouble);
  const at::Tensor mask = cache.BeginStep(torch::ones({3, 2}, torch::kInt64));
  EXPECT_EQ(mask.scalar_type(), at::kLong);
  EXPECT_EQ(mask.sizes(), (at::IntArrayRef{3, 2}));
  const at::Tensor k = torch::randn({3, 2, 2, 4}, torch::kDouble);
  auto kv = cache.Append(0, k, k * 2);
  EXPECT_EQ(kv.first.scalar_type(), at::kDouble);
  EXPECT_TRUE(kv.first.equal(k));
  EXPECT_TRUE(kv.second.equal(k * 2));
  cache.Append(1, k, k);
  cache.EndStep();
  cache.SelectRows(torch::tensor({2, 0}, torch::kInt64));
  EXPECT_EQ(cache.batch(), 2);
  cache.BeginStep(torch::ones({2, 1}, torch::kInt64));
  auto kv2 = cache.Append(0, k.narrow(0, 0, 2).narrow(2, 0, 1), k.narrow(0, 0, 2).narrow(2, 0, 1));
  EXPECT_TRUE(kv2.first.narrow(2, 0, 2).equal(k.index_select(0, torch::tensor({2, 0}))));
}

// ---- bf16 on the CPU ----

TEST(DeviceDtypeTest, Bf16ForwardNearF32AndLogProbsAreF32) {
  // Moderate weights: bf16's error grows with sharper attention (0.7% of the logit scale here).
  CausalLm f32 = Model(at::kFloat, 11, /*initializer_range=*/0.1);
  CausalLm bf16 = Model(at::kBFloat16, 11, /*initializer_range=*/0.1);
  torch::NoGradGuard no_grad;
  const Batch b = PaddedBatch();
  const at::Tensor real = b.mask.unsqueeze(-1).to(at::kBool);
  const at::Tensor l32 = f32->Forward(b.ids, b.mask, b.pos).masked_select(real);
  const at::Tensor l16 = bf16->Forward(b.ids, b.mask, b.pos);
  EXPECT_EQ(l16.scalar_type(), at::kBFloat16);
  // bf16 keeps 8 significant bits (relative rounding 2^-9 per operation): within 5% of the logit
  // scale after two layers, and log-probs within 0.05.
  const double scale = l32.abs().max().item<double>();
  EXPECT_LT(MaxAbsDiff(l32, l16.masked_select(real)), 0.05 * scale) << "scale " << scale;
  auto lp = ComputeResponseLogProbsNoGrad(*bf16, {{1, 2, 3}}, {{5, 6}});
  auto lp32 = ComputeResponseLogProbsNoGrad(*f32, {{1, 2, 3}}, {{5, 6}});
  ASSERT_TRUE(lp.ok() && lp32.ok());
  EXPECT_EQ(lp->logprobs.scalar_type(), at::kFloat);
  EXPECT_LT(MaxAbsDiff(lp->logprobs, lp32->logprobs), 0.05);
  EXPECT_EQ(LogitsForLogprobs(l16).scalar_type(), at::kFloat);
  EXPECT_EQ(LogitsForLogprobs(l16.to(at::kDouble)).scalar_type(), at::kDouble);
  auto gen = Generate(*bf16, MixedRequests());
  ASSERT_TRUE(gen.ok()) << gen.status();
}

// ---- the tensor sampler against the host sampler ----

std::vector<SamplingParams> Settings() {
  std::vector<SamplingParams> s;
  auto add = [&](float t, int32_t k, float p) {
    SamplingParams x;
    x.temperature = t;
    x.top_k = k;
    x.top_p = p;
    s.push_back(x);
  };
  add(0.0f, 0, 1.0f);  // greedy
  add(0.0f, 5, 0.5f);  // greedy ignores the filters
  add(1.0f, 0, 1.0f);  // plain
  add(0.6f, 0, 1.0f);  // temperature
  add(1.7f, 0, 1.0f);
  add(1.0f, 1, 1.0f);  // top-k
  add(0.8f, 5, 1.0f);
  add(1.0f, 10000, 1.0f);  // k >= V: sorted walk over everything
  add(1.0f, 0, 0.9f);      // top-p
  add(0.6f, 0, 0.95f);
  add(1.0f, 0, 0.01f);
  add(1.2f, 8, 0.7f);  // both
  add(0.5f, 3, 0.3f);
  return s;
}

TEST(DeviceSamplerTest, SameTokensAsHostSampler) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const std::vector<SamplingParams> settings = Settings();
  int64_t rows_checked = 0;
  for (int64_t v : {1, 7, 50, 1000}) {
    for (int trial = 0; trial < 40; ++trial) {
      const int64_t b = 32;
      at::Tensor logits;
      if (trial % 4 == 0) {  // small integers: many exact ties
        logits = at::randint(-3, 3, {b, v}, gen, at::kFloat);
      } else {
        logits = at::randn({b, v}, gen, at::kFloat) * (0.5 + trial % 5);
      }
      std::vector<SamplingParams> params;
      std::vector<double> u;
      for (int64_t i = 0; i < b; ++i) {
        params.push_back(settings[(trial * b + i) % settings.size()]);
        u.push_back(UniformForStep(trial, i));
      }
      u[0] = 0.0;
      u[1] = 0.9999999999;
      const SampledTokens got = SampleTokensOnDevice(logits, MakeSamplingTensors(params, at::kCPU),
                                                     torch::tensor(u, at::kDouble));
      ASSERT_EQ(got.ids.scalar_type(), at::kLong);
      ASSERT_EQ(got.logprobs.scalar_type(), at::kFloat);
      const float* data = logits.data_ptr<float>();
      for (int64_t i = 0; i < b; ++i) {
        const SamplingParams& sp = params[i];
        absl::Span<const float> row(data + i * v, v);
        const int32_t want = SampleToken(row, sp, u[i]);
        ASSERT_EQ(got.ids[i].item<int64_t>(), want)
            << "V " << v << " trial " << trial << " row " << i << " T " << sp.temperature << " k "
            << sp.top_k << " p " << sp.top_p << " u " << u[i];
        // log softmax(logits / T) at the token (T = 1 for greedy), in f64.
        const double t = sp.temperature > 0.0f ? sp.temperature : 1.0;
        const at::Tensor ref = at::log_softmax(logits[i].to(at::kDouble) / t, -1)[want];
        EXPECT_NEAR(got.logprobs[i].item<float>(), ref.item<double>(), 1e-5);
        ++rows_checked;
      }
    }
  }
  EXPECT_EQ(rows_checked, 4 * 40 * 32);
}

TEST(DeviceSamplerTest, HintsOnlySkipWorkAndRowsSelect) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const at::Tensor logits = at::randn({13, 30}, gen, at::kFloat);
  const std::vector<SamplingParams> settings = Settings();
  std::vector<double> u;
  for (size_t i = 0; i < settings.size(); ++i) u.push_back(UniformForStep(9, i));
  const at::Tensor uniforms = torch::tensor(u, at::kDouble);
  SamplingTensors exact = MakeSamplingTensors(settings, at::kCPU);
  SamplingTensors loose = exact;
  loose.any_sampled = loose.any_filtered = true;
  EXPECT_TRUE(SampleTokensOnDevice(logits, exact, uniforms)
                  .ids.equal(SampleTokensOnDevice(logits, loose, uniforms).ids));
  const at::Tensor rows = torch::tensor({4, 0, 11}, torch::kInt64);
  const SampledTokens sub = SampleTokensOnDevice(
      logits.index_select(0, rows), exact.SelectRows(rows), uniforms.index_select(0, rows));
  EXPECT_TRUE(
      sub.ids.equal(SampleTokensOnDevice(logits, exact, uniforms).ids.index_select(0, rows)));
  // Greedy only: the hints say so, and the result is the argmax.
  SamplingTensors greedy = MakeSamplingTensors({settings[0], settings[1]}, at::kCPU);
  EXPECT_FALSE(greedy.any_sampled);
  EXPECT_TRUE(SampleTokensOnDevice(logits.narrow(0, 0, 2), greedy, uniforms.narrow(0, 0, 2))
                  .ids.equal(logits.narrow(0, 0, 2).argmax(-1)));
}

// On the CPU, generation with the tensor sampler is bit-identical to the host sampler.
TEST(DeviceSamplerTest, GenerateWithDeviceSamplerMatchesHost) {
  CausalLm m = Model();
  std::vector<GenerationRequest> requests = MixedRequests();
  for (uint64_t seed = 0; seed < 6; ++seed) {
    GenerationRequest r = Request({static_cast<int32_t>(seed) + 1, 2}, seed, 0.9f, 15);
    r.sampling.top_k = static_cast<int32_t>(seed % 3) * 4;
    r.sampling.top_p = seed % 2 == 0 ? 1.0f : 0.8f;
    requests.push_back(r);
  }
  for (bool per_request : {false, true}) {
    GenerateOptions host, device;
    host.per_request = device.per_request = per_request;
    device.device_sampler = true;
    auto a = Generate(*m, requests, host);
    auto b = Generate(*m, requests, device);
    ASSERT_TRUE(a.ok() && b.ok());
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ((*b)[i].token_ids, (*a)[i].token_ids) << "request " << i;
      EXPECT_EQ((*b)[i].logprobs, (*a)[i].logprobs) << "request " << i;
      EXPECT_EQ((*b)[i].finish_reason, (*a)[i].finish_reason) << "request " << i;
    }
  }
}

}  // namespace
}  // namespace r1
