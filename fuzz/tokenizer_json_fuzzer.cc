// Fuzzes tokenizer.json loading (model/tokenizers/bpe_tokenizer.h BpeTokenizer::FromJson): a
// hostile or corrupt file is refused with an error, never a crash; a tokenizer that loads encodes
// a fixed text (added tokens included) to ids inside its vocabulary that decode without error.
// The input is "tokenizer.json\0tokenizer_config.json" (no NUL: no tokenizer_config.json).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "model/tokenizers/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::optional<std::string> config;
  if (nul != std::string::npos) config = input.substr(nul + 1);
  auto tokenizer = r1::BpeTokenizer::FromJson(input.substr(0, nul), config, "fuzz/tokenizer.json");
  if (!tokenizer.ok()) return 0;
  const r1::BpeTokenizer& tok = **tokenizer;
  if (tok.eos_id() < 0 || tok.eos_id() >= tok.vocab_size() || tok.pad_id() < 0 ||
      tok.pad_id() >= tok.vocab_size()) {
    std::fprintf(stderr, "eos %d / pad %d outside the vocabulary of %d\n", tok.eos_id(),
                 tok.pad_id(), tok.vocab_size());
    std::abort();
  }
  auto ids =
      tok.Encode("Hello, world! 12 + 30 = 42 <|endoftext|><think>ok</think> \xC3\xA9t\xC3\xA9");
  if (!ids.ok()) return 0;  // e.g. a normalizer the text cannot pass; still an error, not a crash
  for (int32_t id : *ids) {
    if (id < 0 || id >= tok.vocab_size()) {
      std::fprintf(stderr, "Encode gave id %d outside the vocabulary of %d\n", id,
                   tok.vocab_size());
      std::abort();
    }
  }
  if (!tok.Decode(*ids).ok()) {
    std::fprintf(stderr, "Decode of Encode's ids failed\n");
    std::abort();
  }
  return 0;
}
