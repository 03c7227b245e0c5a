// The tokenizer interface every model-facing part uses: text <-> token ids, plus the special
// tokens the recipe needs (<think>, </think>, <answer>, </answer>, end-of-sequence, padding).
// Implementations: the byte tokenizer (tiny models trained from scratch) and Hugging Face
// tokenizer.json byte-level BPE (real checkpoints). No LibTorch here.
#ifndef R1_MODEL_TOKENIZERS_TOKENIZER_H_
#define R1_MODEL_TOKENIZERS_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace r1 {

// Thread-safety: all const methods may be called concurrently.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`. Special/added tokens written literally in `text` (e.g. "<think>") are
  // matched as single tokens. InvalidArgument if `text` is not valid UTF-8 (the error says at
  // which byte offset).
  virtual absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const = 0;

  // The text of `ids`, special tokens included literally. InvalidArgument naming the id when an
  // id is outside [0, vocab_size()). The result may be invalid UTF-8 when `ids` splits a
  // multi-byte character (a generation cut mid-character); see ToValidUtf8 below.
  virtual absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const = 0;

  // Number of ids (base vocabulary plus added tokens); every id is < vocab_size().
  virtual int32_t vocab_size() const = 0;

  // Id of a special/added token by its text ("<think>"), or nullopt.
  virtual std::optional<int32_t> TokenId(absl::string_view token) const = 0;

  // End-of-sequence id (generation stops on it) and the padding id.
  virtual int32_t eos_id() const = 0;
  virtual int32_t pad_id() const = 0;

  // Writes the files that LoadTokenizer(dir) reads back into an existing directory `dir`
  // (tokenizer.json + tokenizer_config.json for BPE; r1_tokenizer.json for the byte tokenizer).
  virtual absl::Status SaveTo(const std::string& dir) const = 0;
};

// Loads a tokenizer from `spec`: "byte" (the byte tokenizer), a tokenizer.json file, or a
// directory holding tokenizer.json or r1_tokenizer.json (a model directory). NotFound /
// InvalidArgument naming the path and the problem otherwise.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& spec);

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (for JSON output of decodes).
std::string ToValidUtf8(absl::string_view bytes);

}  // namespace r1

#endif  // R1_MODEL_TOKENIZERS_TOKENIZER_H_
