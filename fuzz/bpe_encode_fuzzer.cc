// Fuzzes BPE encoding (model/tokenizers/bpe_tokenizer.h) of arbitrary text with a small byte-level
// tokenizer (256 byte tokens, a few merges, added tokens, the Qwen2 split regex, no normalizer):
// invalid UTF-8 is refused with an error; valid text encodes to ids inside the vocabulary that
// decode back to exactly the text (byte-level BPE is lossless).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "model/tokenizers/bpe_tokenizer.h"
#include "model/tokenizers/pre_tokenizer.h"

namespace {

std::unique_ptr<r1::BpeTokenizer> MakeTokenizer() {
  const r1::ByteLevelMap map;
  const std::vector<std::string> extra = {"th", "the", " t", " th",     " the",
                                          "an", "in",  "12", "\xC3\xA9"};
  const std::vector<std::string> merges = {"t h",         "th e",         "\xC4\xA0 t",
                                           "\xC4\xA0t h", "\xC4\xA0th e", "a n",
                                           "i n",         "1 2",          "\xC3\x83 \xC2\xA9"};
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[map.Encode(std::string(1, static_cast<char>(b)))] = b;
  int next = 256;
  for (const std::string& t : extra) vocab[map.Encode(t)] = next++;
  const nlohmann::json tok = {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", next}, {"content", "<|endoftext|>"}, {"special", true}},
        {{"id", next + 1}, {"content", "<think>"}, {"special", false}},
        {{"id", next + 2}, {"content", "</think>"}, {"special", false}}}},
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
  auto loaded = r1::BpeTokenizer::FromJson(tok.dump(), std::nullopt, "bpe_encode_fuzzer");
  if (!loaded.ok()) {
    std::fprintf(stderr, "the harness's tokenizer does not load: %s\n",
                 loaded.status().ToString().c_str());
    std::abort();
  }
  return std::move(*loaded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<r1::BpeTokenizer> tokenizer = MakeTokenizer();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto ids = tokenizer->Encode(text);
  if (!ids.ok()) return 0;
  for (int32_t id : *ids) {
    if (id < 0 || id >= tokenizer->vocab_size()) {
      std::fprintf(stderr, "id %d outside the vocabulary of %d\n", id, tokenizer->vocab_size());
      std::abort();
    }
  }
  auto decoded = tokenizer->Decode(*ids);
  if (!decoded.ok() || *decoded != text) {
    std::fprintf(stderr, "Decode(Encode(text)) != text\n");
    std::abort();
  }
  return 0;
}
