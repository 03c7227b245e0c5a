// Tests of the sampling math (hand-computed, llama.cpp style) and of batched generation: greedy
// equals argmax decoding, stop/length handling, log-probs, and per-request reproducibility
// whatever else is in the batch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "model/generate.h"
#include "model/logprobs.h"
#include "model/pretrained.h"
#include "model/sampler.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- Sampler (pure functions) ----

std::vector<TokenProb> Probs(std::vector<float> ps) {
  std::vector<TokenProb> out;
  for (size_t i = 0; i < ps.size(); ++i) out.push_back({static_cast<int32_t>(i), ps[i]});
  return out;
}

void ExpectProbs(const std::vector<TokenProb>& got, std::vector<int32_t> ids,
                 std::vector<float> ps) {
  ASSERT_EQ(got.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(got[i].id, ids[i]) << i;
    EXPECT_NEAR(got[i].p, ps[i], 1e-5) << i;
  }
}

TEST(SamplerTest, TopP) {  // the cases of llama.cpp's test_top_p
  auto c = Probs({0.1f, 0.2f, 0.3f, 0.4f});
  TopPFilter(c, 0.0f);
  ExpectProbs(c, {3}, {1.0f});
  c = Probs({0.1f, 0.2f, 0.3f, 0.4f});
  TopPFilter(c, 0.7f);
  ExpectProbs(c, {3, 2}, {0.571429f, 0.428571f});
  c = Probs({0.1f, 0.2f, 0.3f, 0.4f});
  TopPFilter(c, 0.8f);
  ExpectProbs(c, {3, 2, 1}, {0.444444f, 0.333333f, 0.222222f});
  c = Probs({0.1f, 0.2f, 0.3f, 0.4f});
  TopPFilter(c, 1.0f);
  ExpectProbs(c, {3, 2, 1, 0}, {0.4f, 0.3f, 0.2f, 0.1f});
}

TEST(SamplerTest, TopK) {
  auto c = Probs({0.1f, 0.2f, 0.3f, 0.4f});
  TopKFilter(c, 1);
  ExpectProbs(c, {3}, {0.4f});
  c = Probs({0.1f, 0.3f, 0.3f, 0.3f});
  TopKFilter(c, 2);  // ties: lower id first
  ExpectProbs(c, {1, 2}, {0.3f, 0.3f});
  c = Probs({0.1f, 0.2f});
  TopKFilter(c, 0);
  ExpectProbs(c, {1, 0}, {0.2f, 0.1f});
}

// The filters' order is (p descending, id ascending) exactly, also with ties, zeros and a
// candidate that is not a probability (which makes the sort compare pairs instead of keys).
TEST(SamplerTest, FilterOrderIsProbabilityThenId) {
  std::vector<TokenProb> c;
  for (int32_t i = 0; i < 3000; ++i) {
    c.push_back({(i * 7919) % 3000, i % 5 == 0 ? 0.0f : static_cast<float>((i * 31) % 97) / 97});
  }
  auto reference = c;
  std::sort(reference.begin(), reference.end(), [](const TokenProb& a, const TokenProb& b) {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  });
  auto sorted = c;
  TopKFilter(sorted, 0);
  ASSERT_EQ(sorted.size(), reference.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    ASSERT_EQ(sorted[i].id, reference[i].id) << i;
    ASSERT_EQ(sorted[i].p, reference[i].p) << i;
  }
  c[17].p = -0.0f;  // compared pairwise now; -0 == 0, so id decides among the zeros
  TopKFilter(c, 0);
  EXPECT_EQ(c.front().id, reference.front().id);
  EXPECT_EQ(c.back().p, 0.0f);
  EXPECT_EQ(c.back().id, reference.back().id);
}

TEST(SamplerTest, SoftmaxWithTemperature) {
  // logits {0, ln 3}: T = 1 -> {0.25, 0.75}; T = 2 -> weights {1, sqrt 3} -> {0.366025, 0.633975}.
  const std::vector<float> logits = {0.0f, std::log(3.0f)};
  ExpectProbs(SoftmaxCandidates(logits, 1.0f), {0, 1}, {0.25f, 0.75f});
  ExpectProbs(SoftmaxCandidates(logits, 2.0f), {0, 1}, {0.366025f, 0.633975f});
}

TEST(SamplerTest, InverseCdf) {
  auto c = Probs({0.25f, 0.5f, 0.25f});
  EXPECT_EQ(SampleFromCandidates(c, 0.0), 0);
  EXPECT_EQ(SampleFromCandidates(c, 0.24), 0);
  EXPECT_EQ(SampleFromCandidates(c, 0.26), 1);
  EXPECT_EQ(SampleFromCandidates(c, 0.74), 1);
  EXPECT_EQ(SampleFromCandidates(c, 0.76), 2);
  EXPECT_EQ(SampleFromCandidates(c, 0.999999), 2);
}

TEST(SamplerTest, SampleToken) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 2.0f};
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_EQ(SampleToken(logits, greedy, 0.9), 1);  // argmax, lowest id on ties
  SamplingParams top1;
  top1.top_k = 1;
  EXPECT_EQ(SampleToken(logits, top1, 0.99), 1);
  // top_p 0.5 over {e^3, e^3, e^2, e} / Z = {0.4223, 0.4223, 0.1554, 0.0...}: keeps ids 1, 2.
  SamplingParams top_p;
  top_p.top_p = 0.5f;
  EXPECT_EQ(SampleToken(logits, top_p, 0.49), 1);
  EXPECT_EQ(SampleToken(logits, top_p, 0.51), 2);
}

TEST(SamplerTest, UniformForStepIsPureAndSpread) {
  EXPECT_EQ(UniformForStep(7, 3), UniformForStep(7, 3));
  EXPECT_NE(UniformForStep(7, 3), UniformForStep(7, 4));
  EXPECT_NE(UniformForStep(7, 3), UniformForStep(8, 3));
  double sum = 0;
  for (uint64_t s = 0; s < 10000; ++s) {
    const double u = UniformForStep(1, s);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

// ---- Generation ----

CausalLm TinyModel() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.initializer_range = 0.3;
  auto m = NewCausalLm(c, 11);
  EXPECT_TRUE(m.ok());
  return *m;
}

GenerationRequest Request(std::vector<int32_t> prompt, uint64_t seed, float temperature = 1.0f,
                          int32_t max_new = 12) {
  GenerationRequest r;
  r.prompt_ids = std::move(prompt);
  r.sampling.seed = seed;
  r.sampling.temperature = temperature;
  r.max_new_tokens = max_new;
  return r;
}

TEST(GenerateTest, GreedyMatchesArgmaxOfFullForward) {
  CausalLm m = TinyModel();
  auto out = Generate(*m, {Request({1, 2, 3}, 0, 0.0f, 8)});
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<int64_t> seq = {1, 2, 3};
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 8; ++i) {
    const int64_t t = static_cast<int64_t>(seq.size());
    auto ids = torch::tensor(seq, torch::kInt64).view({1, t});
    auto ones = torch::ones({1, t}, torch::kInt64);
    seq.push_back(
        m->Forward(ids, ones, PositionIdsFromMask(ones))[0][t - 1].argmax().item<int64_t>());
  }
  const auto& got = (*out)[0].token_ids;
  EXPECT_EQ(std::vector<int64_t>(got.begin(), got.end()),
            std::vector<int64_t>(seq.begin() + 3, seq.end()));
  EXPECT_EQ((*out)[0].finish_reason, FinishReason::kLength);
}

TEST(GenerateTest, SameRequestAndSeedGiveSameTokensInAnyBatch) {
  CausalLm m = TinyModel();
  const GenerationRequest a = Request({5, 6, 7, 8}, 1234);
  auto alone = Generate(*m, {a});
  auto mixed = Generate(*m, {Request({1}, 1), a, Request({9, 9, 9, 9, 9, 9, 9, 9}, 2, 0.7f, 3)});
  auto twice = Generate(*m, {a, Request({3, 4}, 99, 1.3f, 20), a});
  auto per_request = Generate(*m, {Request({2, 2}, 5), a}, GenerateOptions{true});
  ASSERT_TRUE(alone.ok() && mixed.ok() && twice.ok() && per_request.ok());
  const auto& tokens = (*alone)[0].token_ids;
  EXPECT_EQ(tokens.size(), 12u);
  EXPECT_EQ((*mixed)[1].token_ids, tokens);
  EXPECT_EQ((*twice)[0].token_ids, tokens);
  EXPECT_EQ((*twice)[2].token_ids, tokens);
  EXPECT_EQ((*per_request)[1].token_ids, tokens);
  EXPECT_EQ((*per_request)[1].logprobs, (*alone)[0].logprobs);  // bit-identical alone
  for (size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_NEAR((*mixed)[1].logprobs[i], (*alone)[0].logprobs[i], 1e-5);
  }
  EXPECT_EQ((*mixed)[2].token_ids.size(), 3u);
  // Another seed gives another sequence (temperature 1 over 40 tokens).
  auto other = Generate(*m, {Request({5, 6, 7, 8}, 1235)});
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)[0].token_ids, tokens);
}

// The returned log-probs are of softmax(logits / temperature) without the top-k cut, row by row
// in a mixed batch: what the trainer recomputes at the same temperature.
TEST(GenerateTest, LogProbsMatchTrainerLogProbs) {
  CausalLm m = TinyModel();
  GenerationRequest r = Request({4, 5, 6}, 77, 0.8f);
  r.sampling.top_k = 10;
  GenerationRequest plain = Request({7}, 3);
  auto out = Generate(*m, {r, plain});
  ASSERT_TRUE(out.ok());
  for (int i = 0; i < 2; ++i) {
    const GenerationRequest& req = i == 0 ? r : plain;
    auto lp = ComputeResponseLogProbsNoGrad(*m, {req.prompt_ids}, {(*out)[i].token_ids},
                                            req.sampling.temperature);
    ASSERT_TRUE(lp.ok());
    for (size_t t = 0; t < (*out)[i].token_ids.size(); ++t) {
      EXPECT_NEAR((*out)[i].logprobs[t], lp->logprobs[0][t].item<float>(), 1e-4);
    }
  }
  auto untempered = ComputeResponseLogProbsNoGrad(*m, {r.prompt_ids}, {(*out)[0].token_ids});
  ASSERT_TRUE(untempered.ok());
  const at::Tensor sampled = torch::tensor((*out)[0].logprobs);
  EXPECT_GT((untempered->logprobs[0] - sampled).abs().max().item<float>(), 1e-3);
  EXPECT_FALSE(ComputeResponseLogProbsNoGrad(*m, {r.prompt_ids}, {(*out)[0].token_ids}, 0.0f).ok());
}

TEST(GenerateTest, StopTokensAndLengths) {
  CausalLm m = TinyModel();
  auto greedy = Generate(*m, {Request({1, 2}, 0, 0.0f, 6)});
  ASSERT_TRUE(greedy.ok());
  const auto& full = (*greedy)[0].token_ids;
  ASSERT_EQ(full.size(), 6u);
  GenerationRequest stop = Request({1, 2}, 0, 0.0f, 6);
  stop.stop_token_ids = {full[2]};
  GenerationRequest zero = Request({1, 2}, 0, 0.0f, 0);
  auto out = Generate(*m, {stop, zero, Request({1, 2}, 0, 0.0f, 6)});
  ASSERT_TRUE(out.ok());
  // Stops at the first occurrence of the stop id, which is included.
  auto first = std::find(full.begin(), full.end(), full[2]);
  EXPECT_EQ((*out)[0].token_ids, std::vector<int32_t>(full.begin(), first + 1));
  EXPECT_EQ((*out)[0].finish_reason, FinishReason::kStop);
  EXPECT_TRUE((*out)[1].token_ids.empty());
  EXPECT_EQ((*out)[1].finish_reason, FinishReason::kLength);
  EXPECT_EQ((*out)[2].token_ids, full);
  EXPECT_STREQ(FinishReasonName(FinishReason::kStop), "stop");
}

// Continuous batching: with fewer batch rows than requests, each request still gets the tokens it
// gets alone. The mix makes the engine move the cache both ways: prompts of 1 token start the run,
// so the 9-token prompts waiting behind them do not fit before the current position (a shift
// right), and with 2 rows the run takes far more steps than the cache's capacity of 2 x the
// longest span (shifts left).
TEST(GenerateTest, ContinuousBatchingGivesEachRequestItsOwnTokens) {
  CausalLm m = TinyModel();
  std::vector<GenerationRequest> requests = {Request({1}, 1, 1.0f, 3), Request({2}, 2, 1.0f, 2)};
  for (int i = 0; i < 14; ++i) {
    std::vector<int32_t> prompt(static_cast<size_t>(i % 3 == 0 ? 9 : 1 + i % 4),
                                static_cast<int32_t>(3 + i));
    requests.push_back(Request(prompt, 100 + i, i % 2 == 0 ? 1.0f : 0.0f, 4 + (i * 5) % 9));
  }
  requests[5].stop_token_ids = {7, 8, 9};  // may end early
  std::vector<std::vector<int32_t>> alone;
  for (const auto& r : requests) {
    auto one = Generate(*m, {r});
    ASSERT_TRUE(one.ok()) << one.status();
    alone.push_back((*one)[0].token_ids);
  }
  for (int32_t rows : {1, 2, 3, 0}) {
    GenerateOptions options;
    options.max_batch = rows;
    auto out = Generate(*m, requests, options);
    ASSERT_TRUE(out.ok()) << out.status();
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_EQ((*out)[i].token_ids, alone[i]) << "max_batch " << rows << " request " << i;
      EXPECT_EQ((*out)[i].logprobs.size(), alone[i].size());
    }
  }
  // The tensor sampler picks the same tokens in the continuous engine.
  GenerateOptions device;
  device.max_batch = 2;
  device.device_sampler = true;
  auto out = Generate(*m, requests, device);
  ASSERT_TRUE(out.ok()) << out.status();
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ((*out)[i].token_ids, alone[i]) << i;
}

// Completions are handed out as they finish, each once, complete: with 2 rows, request 1 (2
// tokens) finishes first, request 2 takes its row and finishes at step 4, request 0 last; a
// request with max_new_tokens 0 is finished before anything decodes.
TEST(GenerateTest, FinishedRequestsAreStreamedInFinishingOrder) {
  CausalLm m = TinyModel();
  const std::vector<GenerationRequest> requests = {
      Request({1, 2}, 1, 1.0f, 10), Request({3}, 2, 1.0f, 2), Request({4, 5, 6}, 3, 1.0f, 2),
      Request({7}, 4, 1.0f, 0)};
  std::vector<size_t> order;
  std::vector<std::vector<int32_t>> streamed(requests.size());
  GenerateOptions options;
  options.max_batch = 2;
  options.on_finished = [&](size_t i, const GenerationResult& r) {
    order.push_back(i);
    streamed[i] = r.token_ids;
  };
  auto out = Generate(*m, requests, options);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(order, (std::vector<size_t>{3, 1, 2, 0}));
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(streamed[i], (*out)[i].token_ids);
  EXPECT_EQ((*out)[0].token_ids.size(), 10u);
  options.max_batch = -1;
  EXPECT_THAT(Generate(*m, requests, options).status().message(), HasSubstr("max_batch -1 < 0"));
}

TEST(GenerateTest, BadRequestsNameTheRequest) {
  CausalLm m = TinyModel();
  auto empty = Generate(*m, {Request({1}, 0), Request({}, 0)});
  EXPECT_THAT(empty.status().message(), HasSubstr("request 1: empty prompt"));
  auto range = Generate(*m, {Request({40}, 0)});
  EXPECT_THAT(range.status().message(), HasSubstr("token id 40"));
  GenerationRequest bad_p = Request({1}, 0);
  bad_p.sampling.top_p = 0.0f;
  EXPECT_THAT(Generate(*m, {bad_p}).status().message(), HasSubstr("top_p"));
  EXPECT_THAT(Generate(*m, {Request({1}, 0, -1.0f)}).status().message(), HasSubstr("temperature"));
}

// An absurd max_new_tokens (a hostile or corrupt request) is refused before the KV cache for it is
// allocated; prompt + max_new_tokens up to the context is fine.
TEST(GenerateTest, RequestsBeyondTheContextAreRefused) {
  CausalLm m = TinyModel();
  const int64_t context = m->config().max_position_embeddings;
  auto huge = Generate(*m, {Request({1, 2}, 0, 1.0f, 2147483647)});
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(),
              HasSubstr(absl::StrCat("request 0: prompt of 2 tokens + max_new_tokens 2147483647 = "
                                     "2147483649 exceeds the model's context "
                                     "(max_position_embeddings=",
                                     context, ")")));
  auto one_over = Generate(*m, {Request({1, 2}, 0, 1.0f, static_cast<int32_t>(context - 1))});
  EXPECT_THAT(one_over.status().message(), HasSubstr("exceeds the model's context"));
  auto negative = Generate(*m, {Request({1}, 0, 1.0f, -3)});
  EXPECT_THAT(negative.status().message(), HasSubstr("max_new_tokens -3 < 0"));
  auto fits = Generate(*m, {Request({1, 2}, 0, 1.0f, 4)});
  ASSERT_TRUE(fits.ok()) << fits.status();
}

}  // namespace
}  // namespace r1
