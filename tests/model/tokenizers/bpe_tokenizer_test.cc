// Tests of the Hugging Face byte-level BPE tokenizer: the llama.cpp Qwen2 test vectors with the
// real Qwen3 tokenizer, round trips, special tokens, errors, and small hand-made vocabularies.
#include "model/tokenizers/bpe_tokenizer.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/tokenizers/pre_tokenizer.h"
#include "model/tokenizers/tokenizer.h"
#include "model/tokenizers/unicode.h"
#include "tests/model/tokenizers/random_text.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kQwenDir = std::string(R1_TEST_DATA_DIR) + "/tokenizers/qwen3";

// The Qwen3 tokenizer (151k vocabulary), loaded once for the whole binary.
class QwenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto start = std::chrono::steady_clock::now();
    auto tok = BpeTokenizer::Load(kQwenDir + "/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.status();
    std::fprintf(stderr, "Qwen3 tokenizer loaded in %.2f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    tok_ = tok->release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    tok_ = nullptr;
  }
  static const BpeTokenizer& tok() { return *tok_; }

  std::vector<int32_t> Enc(absl::string_view text) {
    auto ids = tok_->Encode(text);
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? *ids : std::vector<int32_t>{};
  }

  static BpeTokenizer* tok_;
};
BpeTokenizer* QwenTest::tok_ = nullptr;

TEST_F(QwenTest, ReproducesEveryLlamaCppVector) {
  auto inp = ReadFile(kQwenDir + "/qwen2_vectors.inp");
  auto out = ReadFile(kQwenDir + "/qwen2_vectors.out");
  ASSERT_TRUE(inp.ok() && out.ok());
  // Strings are separated by lines "__ggml_vocab_test__"; the newline before each separator is
  // not part of the string.
  std::vector<std::string> inputs = absl::StrSplit(*inp, "\n__ggml_vocab_test__\n");
  ASSERT_EQ(inputs.back(), "");
  inputs.pop_back();
  std::vector<std::string> lines = absl::StrSplit(*out, '\n');
  ASSERT_EQ(lines.back(), "");
  lines.pop_back();
  ASSERT_EQ(inputs.size(), 46u);
  ASSERT_EQ(lines.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> expected;
    for (absl::string_view word : absl::StrSplit(lines[i], ' ', absl::SkipEmpty())) {
      int32_t id;
      ASSERT_TRUE(absl::SimpleAtoi(word, &id)) << lines[i];
      expected.push_back(id);
    }
    EXPECT_EQ(Enc(inputs[i]), expected) << "vector " << i << ": \"" << inputs[i] << "\"";
    auto text = tok().Decode(expected);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, inputs[i]) << "vector " << i;
  }
}

TEST_F(QwenTest, HandCheckedIds) {
  EXPECT_THAT(Enc("Hello world"), ElementsAre(9707, 1879));
  EXPECT_THAT(Enc(""), ElementsAre());
  EXPECT_THAT(Enc("33"), ElementsAre(18, 18));  // one digit per piece
  EXPECT_THAT(Enc("\n ="), ElementsAre(198, 284));
}

TEST_F(QwenTest, SpecialTokens) {
  EXPECT_EQ(tok().vocab_size(), 151669);
  EXPECT_EQ(tok().eos_id(), 151645);  // "<|im_end|>" from tokenizer_config.json
  EXPECT_EQ(tok().pad_id(), 151643);  // "<|endoftext|>"
  EXPECT_EQ(tok().TokenId("<think>"), 151667);
  EXPECT_EQ(tok().TokenId("</think>"), 151668);
  EXPECT_EQ(tok().TokenId("<|im_start|>"), 151644);
  EXPECT_EQ(tok().TokenId("<answer>"), std::nullopt);  // Qwen3 has no such token
  EXPECT_EQ(tok().TokenId("Hello"), std::nullopt);     // base-vocabulary tokens are not special
  EXPECT_THAT(Enc("<think>Hello</think>"), ElementsAre(151667, 9707, 151668));
  EXPECT_THAT(Enc("Hello world<|im_end|>"), ElementsAre(9707, 1879, 151645));
  // A broken special token is ordinary text.
  const std::vector<int32_t> broken = Enc("<think");
  EXPECT_GT(broken.size(), 1u);
  auto text = tok().Decode({151644, 9707, 151645});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "<|im_start|>Hello<|im_end|>");
}

TEST_F(QwenTest, NfcNormalizesBeforeSplitting) {
  EXPECT_EQ(Enc("e\xCC\x81"), Enc("\xC3\xA9"));  // e + U+0301 == U+00E9
}

TEST_F(QwenTest, RoundTripsRandomText) {
  std::mt19937 rng(1234);
  const std::vector<std::string> specials = {"<think>",       "</think>",    "<|im_end|>",
                                             "<|endoftext|>", "<tool_call>", "<answer>"};
  for (int i = 0; i < 1500; ++i) {
    const std::string s = RandomText(&rng, 12, specials);
    auto ids = tok().Encode(s);
    ASSERT_TRUE(ids.ok()) << ids.status();
    for (int32_t id : *ids) ASSERT_TRUE(id >= 0 && id < tok().vocab_size());
    auto back = tok().Decode(*ids);
    ASSERT_TRUE(back.ok()) << back.status();
    auto nfc = Normalize(s, NormalizationForm::kNfc);
    ASSERT_TRUE(nfc.ok());
    ASSERT_EQ(*back, *nfc) << "case " << i;
  }
}

TEST_F(QwenTest, LongInputsEncode) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "The quick brown fox jumps over 13 lazy dogs.\n";
  text += std::string(5000, ' ') + std::string(3000, 'a');
  auto ids = tok().Encode(text);
  ASSERT_TRUE(ids.ok());
  auto back = tok().Decode(*ids);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);
  EXPECT_LT(ids->size(), text.size() / 3);
}

TEST_F(QwenTest, ConcurrentEncodesAgree) {
  const std::string text = "Hello, y'all! How are you \xF0\x9F\x98\x81 ?<think>1314151</think>";
  const std::vector<int32_t> expected = Enc(text);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto ids = tok().Encode(text);
        if (!ids.ok() || *ids != expected) return;
      }
      got[t] = expected;
    });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

TEST_F(QwenTest, InvalidUtf8IsRejectedWithOffset) {
  auto ids = tok().Encode(
      "ab\xFF"
      "cd");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), HasSubstr("byte offset 2"));
  // Truncated multi-byte character at the end, after a special token.
  ids = tok().Encode("<think>\xE4\xB8");
  ASSERT_FALSE(ids.ok());
  EXPECT_THAT(ids.status().message(), HasSubstr("byte offset 7"));
}

TEST_F(QwenTest, BadIdsAreErrors) {
  for (int32_t bad : {-1, 151669, 1 << 30}) {
    auto text = tok().Decode({9707, bad});
    ASSERT_FALSE(text.ok()) << bad;
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(text.status().message(), HasSubstr(std::to_string(bad)));
  }
}

TEST_F(QwenTest, DecodeOfSplitCharacterIsRawBytes) {
  // 44258 is the two bytes E1 9F, the start of a Khmer character that 233 (byte 8B) completes.
  auto partial = tok().Decode({44258});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(*partial, "\xE1\x9F");
  EXPECT_FALSE(ValidateUtf8(*partial).ok());
  EXPECT_EQ(ToValidUtf8(*partial), "\xEF\xBF\xBD");
  auto whole = tok().Decode({44258, 233});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, "\xE1\x9F\x8B");
  EXPECT_THAT(Enc(*whole), ElementsAre(44258, 233));
}

TEST_F(QwenTest, SaveToAndLoadBack) {
  char tmpl[] = "/tmp/r1_bpe_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_TRUE(tok().SaveTo(dir).ok());
  EXPECT_TRUE(PathExists(dir + "/tokenizer.json"));
  EXPECT_TRUE(PathExists(dir + "/tokenizer_config.json"));
  auto loaded = LoadTokenizer(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->eos_id(), tok().eos_id());
  EXPECT_EQ((*loaded)->vocab_size(), tok().vocab_size());
  auto ids = (*loaded)->Encode("Hello, y'all! <think>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, Enc("Hello, y'all! <think>"));
  EXPECT_FALSE(tok().SaveTo(dir + "/missing").ok());
  ASSERT_TRUE(RemoveAll(dir).ok());
}

// A tokenizer.json with the 256 byte tokens (ids 0..255 in byte order), the given extra tokens and
// merges, and the Qwen2 pre-tokenizer.
nlohmann::json TinyTokenizerJson(const std::vector<std::string>& extra_tokens,
                                 const nlohmann::json& merges) {
  const ByteLevelMap map;
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[map.Encode(std::string(1, static_cast<char>(b)))] = b;
  int next = 256;
  for (const std::string& t : extra_tokens) vocab[map.Encode(t)] = next++;
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", next}, {"content", "<|endoftext|>"}, {"special", true}},
        {{"id", next + 1}, {"content", "<a>"}, {"special", false}},
        {{"id", next + 2}, {"content", "<a>b"}, {"special", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex",
              R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

absl::StatusOr<std::unique_ptr<BpeTokenizer>> FromJson(const nlohmann::json& j) {
  return BpeTokenizer::FromJson(j.dump(), std::nullopt, "tiny.json");
}

TEST(BpeTinyTest, MergesApplyByRankNotPosition) {
  // Tokens: 256 "bc", 257 "ab", 258 "abc". Merges by rank: b c (0), a b (1), ab c (2).
  // "abc": b+c (rank 0) wins over a+b (rank 1) -> "a" "bc"; "ab c" never applies.
  auto tok = FromJson(TinyTokenizerJson({"bc", "ab", "abc"}, {"b c", "a b", "ab c"}));
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->vocab_size(), 262);
  auto ids = (*tok)->Encode("abc");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre('a', 256));
  // "abab": a b merges twice (leftmost first, same rank) -> 257 257.
  ids = (*tok)->Encode("abab");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(257, 257));
}

TEST(BpeTinyTest, ArrayMergesAndChainedMerges) {
  // Array-form merges: a b (0), ab c (1): "abc" -> 258 "abc"; "cab" -> c, ab.
  auto tok = FromJson(TinyTokenizerJson(
      {"bc", "ab", "abc"}, nlohmann::json::array({nlohmann::json::array({"a", "b"}),
                                                  nlohmann::json::array({"ab", "c"})})));
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto ids = (*tok)->Encode("abc cab");
  ASSERT_TRUE(ids.ok());
  // Pieces: "abc", " cab" (space + letters). " " stays a byte token (id 32).
  EXPECT_THAT(*ids, ElementsAre(258, ' ', 'c', 257));
  // eos/pad default to "<|endoftext|>" without a tokenizer_config.json.
  EXPECT_EQ((*tok)->eos_id(), 259);
  EXPECT_EQ((*tok)->pad_id(), 259);
}

TEST(BpeTinyTest, AddedTokensMatchLongestFirst) {
  auto tok = FromJson(TinyTokenizerJson({}, nlohmann::json::array()));
  ASSERT_TRUE(tok.ok()) << tok.status();
  // ids: 256 <|endoftext|>, 257 "<a>", 258 "<a>b".
  auto ids = (*tok)->Encode("x<a>b<a>c");
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre('x', 258, 257, 'c'));
  EXPECT_EQ((*tok)->TokenId("<a>b"), 258);
}

TEST(BpeTinyTest, EosFromConfigAndFallbacks) {
  const std::string json = TinyTokenizerJson({}, nlohmann::json::array()).dump();
  auto tok = BpeTokenizer::FromJson(json, R"({"eos_token": {"content": "<a>"}, "pad_token": null})",
                                    "tiny.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->eos_id(), 257);
  EXPECT_EQ((*tok)->pad_id(), 256);
  // An eos_token the tokenizer does not know falls back to <|endoftext|>.
  tok = BpeTokenizer::FromJson(json, R"({"eos_token": "<nope>"})", "tiny.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->eos_id(), 256);
}

TEST(BpeTinyTest, CorruptFilesGiveClearErrors) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    auto tok = BpeTokenizer::FromJson(text, std::nullopt, "bad/tokenizer.json");
    ASSERT_FALSE(tok.ok()) << needle;
    EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tok.status().message(), HasSubstr("bad/tokenizer.json"));
    EXPECT_THAT(tok.status().message(), HasSubstr(needle));
  };
  expect_error("{\"model\": ", "invalid JSON");
  expect_error("[1, 2]", "top level");
  nlohmann::json j = TinyTokenizerJson({}, {"a q"});  // "aq" is not in the vocabulary
  expect_error(j.dump(), "model.merges[0]");
  j = TinyTokenizerJson({}, {"a"});
  expect_error(j.dump(), "model.merges[0]");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["model"]["vocab"].erase("a");
  expect_error(j.dump(), "byte 0x61");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["model"]["vocab"]["a"] = "seven";
  expect_error(j.dump(), "model.vocab[\"a\"]");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  expect_error(j.dump(), "unsupported pre-tokenizer Split regex");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_error(j.dump(), "Lowercase");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["model"]["type"] = "WordPiece";
  expect_error(j.dump(), "model.type");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j["added_tokens"] = nlohmann::json::array();
  expect_error(j.dump(), "end-of-sequence");
  j = TinyTokenizerJson({}, nlohmann::json::array());
  j.erase("model");
  expect_error(j.dump(), "model");
}

TEST(BpeFileTest, TruncatedRealFileIsAnError) {
  auto text = ReadFile(kQwenDir + "/tokenizer.json");
  ASSERT_TRUE(text.ok());
  auto tok = BpeTokenizer::FromJson(text->substr(0, text->size() / 2), std::nullopt, "half.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(tok.status().message(), HasSubstr("half.json: invalid JSON"));
  auto missing = BpeTokenizer::Load("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace r1
