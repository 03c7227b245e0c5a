// Tests of ModelConfig, the transformer (names, KV cache, padding, gradients, a hand-computed
// case, RoPE), response log-probs, state-dict / HF-directory round trips, and a tiny model that
// learns a small corpus.
#include "model/transformer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "model/logprobs.h"
#include "model/model_config.h"
#include "model/pretrained.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

ModelConfig Tiny(const std::string& type = "qwen2", int64_t heads = 4, int64_t kv_heads = 2,
                 bool tied = false) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 8;
  c.tie_word_embeddings = tied;
  c.qkv_bias = type == "qwen2";
  c.initializer_range = 0.2;  // large enough for logits that differ visibly
  return c;
}

CausalLm Model(const ModelConfig& c, uint64_t seed = 1) {
  auto m = NewCausalLm(c, seed);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

at::Tensor RandomIds(int64_t b, int64_t t, int64_t vocab, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(vocab, {b, t}, gen, torch::kInt64);
}

// ---- ModelConfig ----

TEST(ModelConfigTest, ParsesQwen2WithDefaults) {
  auto j = nlohmann::json::parse(R"({"model_type": "qwen2", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 8, "num_key_value_heads": 2, "eos_token_id": [5, 6],
      "tie_word_embeddings": true})");
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_dim, 8);
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_FALSE(c->o_bias);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{5, 6}));
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
}

TEST(ModelConfigTest, LlamaBiasFollowsAttentionBias) {
  auto j = nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 8})");
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->qkv_bias);
  EXPECT_EQ(c->num_key_value_heads, 8);
  j["attention_bias"] = true;
  c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_TRUE(c->o_bias);
}

TEST(ModelConfigTest, ErrorsNameKeyAndValue) {
  auto base = nlohmann::json::parse(R"({"model_type": "qwen2", "vocab_size": 100,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 8})");
  auto j = base;
  j["num_key_value_heads"] = 3;
  auto c = ParseModelConfig(j);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("\"num_key_value_heads\" = 3"));
  j = base;
  j["hidden_size"] = "big";
  EXPECT_THAT(ParseModelConfig(j).status().message(), HasSubstr("\"hidden_size\" = \"big\""));
  j = base;
  j["model_type"] = "gpt2";
  EXPECT_THAT(ParseModelConfig(j).status().message(), HasSubstr("\"gpt2\""));
  j = base;
  j.erase("vocab_size");
  EXPECT_THAT(ParseModelConfig(j).status().message(), HasSubstr("vocab_size"));
  j = base;
  j["eos_token_id"] = 100;
  EXPECT_THAT(ParseModelConfig(j).status().message(), HasSubstr("eos_token_id"));
}

TEST(ModelConfigTest, JsonRoundTrip) {
  for (const auto& c : {Tiny("qwen2"), Tiny("llama", 4, 4, true)}) {
    auto j = ModelConfigToJson(c);
    EXPECT_EQ(j["architectures"][0],
              c.model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    auto back = ParseModelConfig(j);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(ModelConfigToJson(*back), j);
  }
}

// ---- Transformer ----

TEST(TransformerTest, ParameterNamesAreHuggingFaces) {
  ModelConfig c = Tiny("qwen2");
  c.num_hidden_layers = 1;
  CausalLm m(c);
  std::set<std::string> names;
  int64_t count = 0;
  for (const auto& p : m->named_parameters()) {
    names.insert(p.key());
    count += p.value().numel();
  }
  EXPECT_EQ(
      names,
      (std::set<std::string>{
          "lm_head.weight", "model.embed_tokens.weight", "model.norm.weight",
          "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
          "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.bias",
          "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.k_proj.bias",
          "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.v_proj.bias",
          "model.layers.0.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
          "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight"}));
  EXPECT_EQ(count, NumParameters(c));
  CausalLm tied(Tiny("llama", 4, 4, /*tied=*/true));
  int64_t tied_count = 0;
  for (const auto& p : tied->named_parameters()) {
    EXPECT_NE(p.key(), "lm_head.weight");
    EXPECT_EQ(p.key().find(".bias"), std::string::npos) << p.key();
    tied_count += p.value().numel();
  }
  EXPECT_EQ(tied_count, NumParameters(Tiny("llama", 4, 4, true)));
}

// Zero attention/MLP weights leave logits = lm_head(RMSNorm(embedding)), computable by hand.
TEST(TransformerTest, HandComputedResidualAndNorm) {
  ModelConfig c = Tiny("llama", 1, 1);
  c.vocab_size = 3;
  c.hidden_size = 2;
  c.head_dim = 2;
  c.intermediate_size = 2;
  c.num_hidden_layers = 1;
  c.rms_norm_eps = 0.0 + 1e-12;
  CausalLm m(c);  // zero weights, unit norms
  NamedTensors sd = ExportStateDict(*m);
  sd["model.embed_tokens.weight"] =
      torch::tensor({3.0f, 4.0f, 1.0f, 0.0f, 0.0f, 2.0f}).view({3, 2});
  sd["lm_head.weight"] = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f}).view({3, 2});
  sd["model.norm.weight"] = torch::tensor({1.0f, 2.0f});
  ASSERT_TRUE(ImportStateDict(*m, sd).ok());
  auto ids = torch::tensor({0}, torch::kInt64).view({1, 1});
  auto mask = torch::ones({1, 1}, torch::kInt64);
  auto logits = m->Forward(ids, mask, PositionIdsFromMask(mask));
  // x = [3, 4], rms = sqrt(12.5) = 3.535534; normed * [1, 2] = [0.848528, 2.262742].
  auto expected = torch::tensor({0.848528f, 2.262742f, 3.111270f}).view({1, 1, 3});
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-5, 1e-5)) << logits;
}

TEST(TransformerTest, RopeDependsOnRelativePositionsOnly) {
  CausalLm m = Model(Tiny());
  auto ids = RandomIds(1, 7, 50, 3);
  auto mask = torch::ones({1, 7}, torch::kInt64);
  auto pos = PositionIdsFromMask(mask);
  auto a = m->Forward(ids, mask, pos);
  auto b = m->Forward(ids, mask, pos + 11);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-4));
  // ... and positions matter at all (a sanity check that RoPE is applied).
  auto c = m->Forward(ids, mask, pos * 2);
  EXPECT_FALSE(torch::allclose(a, c, 1e-4, 1e-4));
}

TEST(TransformerTest, KvCacheDecodeMatchesFullForward) {
  for (const auto& config : {Tiny("qwen2", 4, 2), Tiny("llama", 4, 4, true), Tiny("qwen2", 4, 1)}) {
    CausalLm m = Model(config);
    torch::NoGradGuard no_grad;
    // Row 0: 9 tokens; row 1: 6 tokens left-padded by 3.
    auto ids = RandomIds(2, 9, 50, 5);
    auto mask = torch::ones({2, 9}, torch::kInt64);
    mask[1].narrow(0, 0, 3).fill_(0);
    auto pos = PositionIdsFromMask(mask);
    auto full = m->Forward(ids, mask, pos);
    KvCache cache = m->NewCache(2, 9);
    const int64_t prefill = 4;
    auto first = m->Forward(ids.narrow(1, 0, prefill), mask.narrow(1, 0, prefill),
                            pos.narrow(1, 0, prefill), &cache);
    std::vector<at::Tensor> parts = {first};
    for (int64_t t = prefill; t < 9; ++t) {
      parts.push_back(
          m->Forward(ids.narrow(1, t, 1), mask.narrow(1, t, 1), pos.narrow(1, t, 1), &cache));
    }
    EXPECT_EQ(cache.length(), 9);
    auto incremental = torch::cat(parts, 1);
    // Compare real tokens only.
    auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(full);
    EXPECT_TRUE(
        torch::allclose(full.masked_select(real), incremental.masked_select(real), 1e-5, 1e-5))
        << config.model_type << " kv=" << config.num_key_value_heads;
  }
}

TEST(TransformerTest, PaddingDoesNotChangeRealTokenLogits) {
  CausalLm m = Model(Tiny());
  torch::NoGradGuard no_grad;
  auto seq = RandomIds(1, 5, 50, 7);
  auto other = RandomIds(1, 8, 50, 8);
  auto ones = torch::ones({1, 5}, torch::kInt64);
  auto alone = m->Forward(seq, ones, PositionIdsFromMask(ones))[0];  // [5, V]
  for (bool left : {true, false}) {
    auto ids = torch::zeros({2, 8}, torch::kInt64);
    auto mask = torch::zeros({2, 8}, torch::kInt64);
    ids[0].copy_(other[0]);
    mask[0].fill_(1);
    const int64_t start = left ? 3 : 0;
    ids[1].narrow(0, start, 5).copy_(seq[0]);
    mask[1].narrow(0, start, 5).fill_(1);
    auto batched = m->Forward(ids, mask, PositionIdsFromMask(mask));
    EXPECT_TRUE(torch::allclose(batched[1].narrow(0, start, 5), alone, 1e-5, 1e-5))
        << (left ? "left" : "right") << " padding";
    EXPECT_TRUE(torch::isfinite(batched).all().item<bool>());
  }
}

TEST(TransformerTest, GradientsReachEveryParameter) {
  for (const auto& config : {Tiny("qwen2", 4, 2), Tiny("llama", 4, 4, true)}) {
    ModelConfig c = config;
    if (c.model_type == "llama") c.qkv_bias = c.o_bias = true;
    CausalLm m = Model(c);
    auto lp = ComputeResponseLogProbs(*m, {{1, 2, 3}, {4}}, {{5, 6}, {7, 8, 9}});
    ASSERT_TRUE(lp.ok()) << lp.status();
    (-lp->logprobs.sum()).backward();
    for (const auto& p : m->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
    }
  }
}

// ---- Log-probs ----

TEST(LogProbsTest, MatchesLogSoftmaxOfFullForward) {
  CausalLm m = Model(Tiny());
  std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4}};
  std::vector<std::vector<int32_t>> responses = {{5, 6}, {7, 8, 9}};
  auto lp = ComputeResponseLogProbsNoGrad(*m, prompts, responses);
  ASSERT_TRUE(lp.ok()) << lp.status();
  EXPECT_FALSE(lp->logprobs.requires_grad());
  ASSERT_EQ(lp->logprobs.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(torch::equal(lp->mask, torch::tensor({1.f, 1.f, 0.f, 1.f, 1.f, 1.f}).view({2, 3})));
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> seq(prompts[i].begin(), prompts[i].end());
    seq.insert(seq.end(), responses[i].begin(), responses[i].end());
    const int64_t t = static_cast<int64_t>(seq.size());
    auto ids = torch::tensor(seq, torch::kInt64).view({1, t});
    auto ones = torch::ones({1, t}, torch::kInt64);
    torch::NoGradGuard no_grad;
    auto logp = torch::log_softmax(m->Forward(ids, ones, PositionIdsFromMask(ones))[0], -1);
    for (size_t r = 0; r < responses[i].size(); ++r) {
      const float expected = logp[prompts[i].size() + r - 1][responses[i][r]].item<float>();
      EXPECT_NEAR(lp->logprobs[i][r].item<float>(), expected, 1e-5);
    }
  }
  EXPECT_EQ(lp->logprobs[0][2].item<float>(), 0.0f);
  auto grad = ComputeResponseLogProbs(*m, prompts, responses);
  ASSERT_TRUE(grad.ok());
  EXPECT_TRUE(grad->logprobs.requires_grad());
  EXPECT_TRUE(torch::allclose(grad->logprobs.detach(), lp->logprobs));
}

TEST(LogProbsTest, ChunksAreLengthSortedAndWithinBudget) {
  const std::vector<int64_t> lengths = {3, 9, 5, 9, 1, 20};
  const auto chunks = PlanLogprobChunks(lengths, 18);
  // Longest first, ties in index order; size x longest <= 18 (20 alone exceeds it, still a chunk).
  const std::vector<std::vector<size_t>> want = {{5}, {1, 3}, {2, 0, 4}};
  EXPECT_EQ(chunks, want);
  const std::vector<std::vector<size_t>> one = {{0, 1, 2, 3, 4, 5}};
  EXPECT_EQ(PlanLogprobChunks(lengths, 0), one);
  EXPECT_EQ(PlanLogprobChunks(lengths, 1000),
            (std::vector<std::vector<size_t>>{{5, 1, 3, 2, 0, 4}}));
  // A sequence cap, alone and with the token budget (whichever bound is reached first cuts).
  EXPECT_EQ(PlanLogprobChunks(lengths, 0, 4),
            (std::vector<std::vector<size_t>>{{5, 1, 3, 2}, {0, 4}}));
  EXPECT_EQ(PlanLogprobChunks(lengths, 18, 2),
            (std::vector<std::vector<size_t>>{{5}, {1, 3}, {2, 0}, {4}}));
  EXPECT_TRUE(PlanLogprobChunks({}, 18, 2).empty());
}

TEST(LogProbsTest, ChunkedEqualsOneBatchInCallerOrder) {
  CausalLm m = Model(Tiny());
  std::vector<std::vector<int32_t>> prompts, responses;
  for (int32_t i = 0; i < 7; ++i) {
    prompts.push_back(std::vector<int32_t>(1 + i % 3, 1 + i));
    std::vector<int32_t> r;
    for (int32_t j = 0; j < 1 + (i * 5) % 7; ++j) r.push_back((i + 3 * j) % 40);
    responses.push_back(r);
  }
  auto one = ComputeResponseLogProbsNoGrad(*m, prompts, responses, 0.7f, /*chunk_tokens=*/0);
  auto chunked = ComputeResponseLogProbsNoGrad(*m, prompts, responses, 0.7f, /*chunk_tokens=*/12);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < prompts.size(); ++i)
    lengths.push_back(prompts[i].size() + responses[i].size());
  ASSERT_GT(PlanLogprobChunks(lengths, 12).size(), 2u);  // really chunked
  ASSERT_EQ(chunked->logprobs.sizes(), one->logprobs.sizes());
  EXPECT_TRUE(torch::equal(chunked->mask, one->mask));
  EXPECT_TRUE(torch::allclose(chunked->logprobs, one->logprobs, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(chunked->logprobs == 0, one->logprobs == 0));  // padding stays 0
  // Each row is its own sequence's: a batch of one gives the same values.
  auto alone = ComputeResponseLogProbsNoGrad(*m, {prompts[4]}, {responses[4]}, 0.7f);
  ASSERT_TRUE(alone.ok());
  const int64_t r = static_cast<int64_t>(responses[4].size());
  EXPECT_TRUE(
      torch::allclose(chunked->logprobs[4].narrow(0, 0, r), alone->logprobs[0], 1e-5, 1e-5));
}

TEST(LogProbsTest, BadInputIsAnError) {
  CausalLm m = Model(Tiny());
  auto empty = ComputeResponseLogProbsNoGrad(*m, {{1}, {}}, {{2}, {3}});
  EXPECT_THAT(empty.status().message(), HasSubstr("sequence 1: empty prompt"));
  auto range = ComputeResponseLogProbsNoGrad(*m, {{1}}, {{50}});
  EXPECT_THAT(range.status().message(), HasSubstr("token id 50"));
  EXPECT_FALSE(ComputeResponseLogProbsNoGrad(*m, {{1}}, {}).ok());
}

TEST(LogProbsTest, ASequenceLongerThanTheContextIsAnError) {
  ModelConfig c = Tiny();
  c.max_position_embeddings = 8;
  CausalLm m = Model(c);
  // 3 + 5 tokens fit exactly; one more does not, in either path.
  EXPECT_TRUE(ComputeResponseLogProbsNoGrad(*m, {{1, 2, 3}}, {{4, 5, 6, 7, 8}}).ok());
  auto no_grad = ComputeResponseLogProbsNoGrad(*m, {{1, 2}, {1, 2, 3}}, {{4}, {4, 5, 6, 7, 8, 9}});
  EXPECT_EQ(no_grad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_grad.status().message(),
              HasSubstr("sequence 1: prompt + response = 9 tokens exceeds the model's context "
                        "(max_position_embeddings=8)"));
  auto grad = ComputeResponseLogProbs(*m, {{1, 2, 3}}, {{4, 5, 6, 7, 8, 9}});
  EXPECT_THAT(grad.status().message(), HasSubstr("max_position_embeddings=8"));
}

// ---- Init, state dicts, Hugging Face directories ----

TEST(PretrainedTest, InitIsDeterministicInSeed) {
  auto a = ExportStateDict(*Model(Tiny(), 42));
  auto b = ExportStateDict(*Model(Tiny(), 42));
  auto c = ExportStateDict(*Model(Tiny(), 43));
  for (const auto& [name, t] : a) {
    EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  EXPECT_FALSE(torch::equal(a.at("lm_head.weight"), c.at("lm_head.weight")));
  auto w = a.at("model.layers.0.mlp.up_proj.weight");
  EXPECT_NEAR(w.std().item<float>(), 0.2, 0.03);
  EXPECT_TRUE(torch::equal(a.at("model.norm.weight"), torch::ones({32})));
  EXPECT_TRUE(torch::equal(a.at("model.layers.0.self_attn.q_proj.bias"), torch::zeros({32})));
}

TEST(PretrainedTest, ImportErrorsNameTheTensor) {
  CausalLm m = Model(Tiny());
  NamedTensors sd = ExportStateDict(*m);
  auto missing = sd;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  EXPECT_THAT(ImportStateDict(*m, missing).message(),
              HasSubstr("missing tensor \"model.layers.1.mlp.up_proj.weight\""));
  auto shape = sd;
  shape["model.norm.weight"] = torch::ones({31});
  EXPECT_THAT(ImportStateDict(*m, shape).message(),
              HasSubstr("\"model.norm.weight\" has shape [31], expected [32]"));
  auto extra = sd;
  extra["model.layers.9.mlp.up_proj.weight"] = torch::ones({1});
  EXPECT_THAT(ImportStateDict(*m, extra).message(),
              HasSubstr("\"model.layers.9.mlp.up_proj.weight\" matches no parameter"));
}

TEST(PretrainedTest, SaveLoadIsBitExact) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/r1_model_rt_", getpid());
  for (const auto& config : {Tiny("qwen2"), Tiny("llama", 4, 4, true)}) {
    CausalLm m = Model(config, 9);
    ASSERT_TRUE(SaveCausalLm(dir, *m, nullptr).ok());
    auto loaded = LoadCausalLm(dir);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(ModelConfigToJson((*loaded)->config()), ModelConfigToJson(config));
    auto a = ExportStateDict(*m);
    auto b = ExportStateDict(**loaded);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  // bfloat16 storage: loading gives the bf16-rounded weights.
  ModelConfig bf = Tiny();
  bf.torch_dtype = "bfloat16";
  CausalLm m = Model(bf, 9);
  ASSERT_TRUE(SaveCausalLm(dir, *m, nullptr).ok());
  auto loaded = LoadCausalLm(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto w = ExportStateDict(*m).at("lm_head.weight");
  EXPECT_TRUE(torch::equal(ExportStateDict(**loaded).at("lm_head.weight"),
                           w.to(torch::kBFloat16).to(torch::kFloat)));
  ASSERT_TRUE(RemoveAll(dir).ok());
  EXPECT_FALSE(LoadCausalLm(dir).ok());
}

// ---- Training ----

// A byte-level model (V = 256, 2 layers, C = 64) learns a fixed sentence from scratch.
TEST(TrainingTest, TinyModelLearnsSmallCorpus) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 256;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.tie_word_embeddings = true;
  CausalLm m = Model(c, 0);
  std::string corpus;
  for (int i = 0; i < 20; ++i) corpus += "the quick brown fox jumps over the lazy dog. ";
  const int64_t b = 8, t = 32;
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(3e-3));
  float first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    auto ids = torch::empty({b, t + 1}, torch::kInt64);
    for (int64_t i = 0; i < b; ++i) {
      const size_t start = (step * 37 + i * 101) % (corpus.size() - t - 1);
      for (int64_t j = 0; j <= t; ++j) ids[i][j] = static_cast<uint8_t>(corpus[start + j]);
    }
    auto input = ids.narrow(1, 0, t), target = ids.narrow(1, 1, t);
    auto mask = torch::ones({b, t}, torch::kInt64);
    auto logits = m->Forward(input, mask, PositionIdsFromMask(mask));
    auto loss =
        torch::nn::functional::cross_entropy(logits.reshape({b * t, 256}), target.reshape({b * t}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<float>();
    last = loss.item<float>();
  }
  EXPECT_GT(first, 5.0f);  // ~ln(256) = 5.55 at init
  EXPECT_LT(last, 0.5f) << "loss after 200 Adam steps";
}

}  // namespace
}  // namespace r1
