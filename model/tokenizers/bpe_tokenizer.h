// Hugging Face tokenizer.json byte-level BPE (GPT-2, Qwen2/Qwen3, Llama-3 style): added tokens
// matched first, then NFC (or no) normalization, the Split regex + ByteLevel pre-tokenizer, BPE
// merges by rank, and the ByteLevel decoder. Reproduces the `tokenizers` library's ids.
#ifndef R1_MODEL_TOKENIZERS_BPE_TOKENIZER_H_
#define R1_MODEL_TOKENIZERS_BPE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/tokenizers/pre_tokenizer.h"
#include "model/tokenizers/tokenizer.h"
#include "model/tokenizers/unicode.h"

namespace r1 {

// What is supported of tokenizer.json (anything else is an InvalidArgument naming the key):
//   normalizer:    null, NFC, NFD, NFKC, NFKD, or a Sequence of those.
//   pre_tokenizer: Sequence[Split({"Regex": R}, "Isolated"), ByteLevel(use_regex=false)] with R
//                  one of the SplitPattern regexes, or ByteLevel(use_regex=true) (GPT-2).
//                  add_prefix_space must be false.
//   model:         BPE with "a b" or ["a","b"] merges; no byte_fallback, dropout, or subword
//                  prefix/suffix; ignore_merges honoured (Llama-3).
//   decoder:       null or ByteLevel.
//   added_tokens:  matched on the raw text before normalization and splitting, leftmost and
//                  longest first (lstrip/rstrip/single_word are not applied).
// post_processor is ignored: Encode never adds BOS/EOS.
//
// Special tokens: eos is tokenizer_config.json's "eos_token" when that file was given and names
// a known token, else "<|endoftext|>"; pad is "pad_token" of the config when known, else
// "<|endoftext|>", else eos. Loading fails if no eos can be found.
//
// Immutable after loading; all methods are thread-safe.
class BpeTokenizer : public Tokenizer {
 public:
  // Builds from the text of tokenizer.json and, optionally, tokenizer_config.json. `source`
  // names where they came from in error messages (a path). InvalidArgument for malformed JSON
  // (with line/column), missing or ill-typed keys (named), and unsupported features.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> FromJson(
      std::string tokenizer_json, std::optional<std::string> tokenizer_config_json,
      const std::string& source);

  // Reads `tokenizer_json_path` and the tokenizer_config.json beside it if there is one.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Load(const std::string& tokenizer_json_path);

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> TokenId(absl::string_view token) const override;
  int32_t eos_id() const override { return eos_id_; }
  int32_t pad_id() const override { return pad_id_; }
  // Writes tokenizer.json as loaded and tokenizer_config.json (as loaded, or a minimal one with
  // "eos_token" and "pad_token") into the existing directory `dir`, each atomically.
  absl::Status SaveTo(const std::string& dir) const override;

 private:
  struct AddedToken {
    std::string content;
    int32_t id;
  };
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };

  struct RawModel;  // model.vocab and model.merges as read (bpe_tokenizer.cc)

  BpeTokenizer() = default;
  // Fills the tables from parsed tokenizer.json `tok` (without model.vocab and model.merges,
  // which come in `raw` and are moved from) and tokenizer_config.json `config` (null if none).
  absl::Status Parse(const nlohmann::json& tok, RawModel* raw, const nlohmann::json* config,
                     const std::string& source);
  // Appends the ids of `text` (no added tokens in it) after normalization and splitting.
  absl::Status EncodeOrdinary(absl::string_view text, std::vector<int32_t>* ids) const;
  // Appends the BPE ids of one pre-tokenized piece (raw bytes).
  void EncodePiece(absl::string_view piece, std::vector<int32_t>* ids) const;
  const Merge* FindMerge(int32_t left, int32_t right) const;

  std::string tokenizer_json_;                        // file text, written back by SaveTo
  std::optional<std::string> tokenizer_config_json_;  // likewise, when one was loaded

  std::vector<NormalizationForm> normalizers_;  // applied in order
  SplitPattern split_pattern_ = SplitPattern::kQwen2;
  bool ignore_merges_ = false;

  int32_t vocab_size_ = 0;
  std::vector<std::string> id_to_bytes_;  // raw bytes of each id ("" for ids with no token)
  std::vector<bool> has_token_;           // whether an id is a token at all
  std::unordered_map<std::string, int32_t> bytes_to_id_;  // base vocabulary by raw bytes
  std::array<int32_t, 256> byte_ids_{};                   // id of each single byte
  std::unordered_map<uint64_t, Merge> merges_;            // key: left id << 32 | right id

  std::vector<AddedToken> added_;  // sorted by content length, longest first
  std::array<std::vector<int32_t>, 256> added_by_first_byte_;  // indexes into added_
  std::unordered_map<std::string, int32_t> added_ids_;

  int32_t eos_id_ = -1;
  int32_t pad_id_ = -1;
  std::string eos_token_;
  std::string pad_token_;
};

}  // namespace r1

#endif  // R1_MODEL_TOKENIZERS_BPE_TOKENIZER_H_
