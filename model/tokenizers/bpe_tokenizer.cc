// Hugging Face tokenizer.json byte-level BPE: loading (nlohmann), encoding, decoding, saving.
#include "model/tokenizers/bpe_tokenizer.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

using json = nlohmann::json;

constexpr char kEndOfText[] = "<|endoftext|>";

absl::Status Bad(const std::string& source, absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", key, ": ", problem));
}

absl::StatusOr<json> ParseJson(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", e.what()));
  }
}

// A short rendering of a JSON value for error messages.
std::string Show(const json& value) {
  std::string s = value.dump();
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

// `obj[key]` if obj is an object that has it and it is not null, else nullptr.
const json* Find(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// A string field, or "" when absent/null. InvalidArgument if present with another type.
absl::StatusOr<std::string> StringField(const json& obj, const char* key, const std::string& where,
                                        const std::string& source) {
  const json* v = Find(obj, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return Bad(source, where + "." + key, "expected a string, got " + Show(*v));
  return v->get<std::string>();
}

absl::StatusOr<bool> BoolField(const json& obj, const char* key, const std::string& where,
                               const std::string& source) {
  const json* v = Find(obj, key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return Bad(source, where + "." + key, "expected a bool, got " + Show(*v));
  return v->get<bool>();
}

absl::Status ParseNormalizer(const json& n, const std::string& where, const std::string& source,
                             std::vector<NormalizationForm>* out) {
  if (n.is_null()) return absl::OkStatus();
  R1_ASSIGN_OR_RETURN(std::string type, StringField(n, "type", where, source));
  if (type == "NFC") {
    out->push_back(NormalizationForm::kNfc);
  } else if (type == "NFD") {
    out->push_back(NormalizationForm::kNfd);
  } else if (type == "NFKC") {
    out->push_back(NormalizationForm::kNfkc);
  } else if (type == "NFKD") {
    out->push_back(NormalizationForm::kNfkd);
  } else if (type == "Sequence") {
    const json* list = Find(n, "normalizers");
    if (list == nullptr || !list->is_array()) {
      return Bad(source, where + ".normalizers", "expected an array");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      R1_RETURN_IF_ERROR(
          ParseNormalizer((*list)[i], absl::StrCat(where, ".normalizers[", i, "]"), source, out));
    }
  } else {
    return Bad(
        source, where + ".type",
        "unsupported normalizer \"" + type + "\" (supported: NFC, NFD, NFKC, NFKD, Sequence)");
  }
  return absl::OkStatus();
}

// ByteLevel pre-tokenizer: checks add_prefix_space is false; returns use_regex.
absl::StatusOr<bool> ParseByteLevel(const json& b, const std::string& where,
                                    const std::string& source) {
  R1_ASSIGN_OR_RETURN(bool add_prefix_space, BoolField(b, "add_prefix_space", where, source));
  if (add_prefix_space) return Bad(source, where + ".add_prefix_space", "true is not supported");
  const json* use_regex = Find(b, "use_regex");
  if (use_regex == nullptr) return true;  // the tokenizers library's default
  if (!use_regex->is_boolean()) return Bad(source, where + ".use_regex", "expected a bool");
  return use_regex->get<bool>();
}

absl::StatusOr<SplitPattern> ParsePreTokenizer(const json& p, const std::string& source) {
  const std::string where = "pre_tokenizer";
  if (!p.is_object()) return Bad(source, where, "expected an object, got " + Show(p));
  R1_ASSIGN_OR_RETURN(std::string type, StringField(p, "type", where, source));
  if (type == "ByteLevel") {
    R1_ASSIGN_OR_RETURN(bool use_regex, ParseByteLevel(p, where, source));
    if (!use_regex) return Bad(source, where, "ByteLevel without use_regex splits nothing");
    return SplitPattern::kGpt2;
  }
  const json* list = Find(p, "pretokenizers");
  if (type != "Sequence" || list == nullptr || !list->is_array() || list->size() != 2) {
    return Bad(source, where,
               "unsupported pre-tokenizer " + Show(p) +
                   " (supported: ByteLevel, or Sequence[Split(Regex, Isolated), ByteLevel])");
  }
  const json& split = (*list)[0];
  const json& byte_level = (*list)[1];
  R1_ASSIGN_OR_RETURN(std::string split_type, StringField(split, "type", where, source));
  R1_ASSIGN_OR_RETURN(std::string bl_type, StringField(byte_level, "type", where, source));
  if (split_type != "Split" || bl_type != "ByteLevel") {
    return Bad(source, where, "expected Sequence[Split, ByteLevel], got " + Show(p));
  }
  const std::string split_where = where + ".pretokenizers[0]";
  R1_ASSIGN_OR_RETURN(std::string behavior, StringField(split, "behavior", split_where, source));
  R1_ASSIGN_OR_RETURN(bool invert, BoolField(split, "invert", split_where, source));
  if (behavior != "Isolated" || invert) {
    return Bad(source, split_where, "only behavior \"Isolated\" without invert is supported");
  }
  const json* pattern = Find(split, "pattern");
  const json* regex = pattern ? Find(*pattern, "Regex") : nullptr;
  if (regex == nullptr || !regex->is_string()) {
    return Bad(source, split_where + ".pattern", "expected {\"Regex\": \"...\"}");
  }
  R1_ASSIGN_OR_RETURN(bool use_regex,
                      ParseByteLevel(byte_level, where + ".pretokenizers[1]", source));
  if (use_regex) {
    return Bad(source, where + ".pretokenizers[1].use_regex",
               "true after a Split is not supported");
  }
  absl::StatusOr<SplitPattern> split_pattern = SplitPatternFromRegex(regex->get<std::string>());
  if (!split_pattern.ok()) {
    return Bad(source, split_where + ".pattern.Regex", split_pattern.status().message());
  }
  return *split_pattern;
}

// "eos_token" of tokenizer_config.json: a string or {"content": "..."}; "" when absent.
std::string ConfigToken(const json* config, const char* key) {
  if (config == nullptr) return "";
  const json* v = Find(*config, key);
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  const json* content = Find(*v, "content");
  if (content != nullptr && content->is_string()) return content->get<std::string>();
  return "";
}

// Parses tokenizer.json into a DOM except for model.vocab and model.merges (300k small values),
// which go straight into vectors: building them as nlohmann objects would triple the load time.
// Wraps nlohmann's own DOM builder for the rest.
class TokenizerJsonSax {
 public:
  using DomParser = nlohmann::detail::json_sax_dom_parser<json>;

  TokenizerJsonSax(json* root, std::vector<std::pair<std::string, int64_t>>* vocab,
                   std::vector<std::pair<std::string, std::string>>* merges)
      : dom_(*root, /*allow_exceptions_=*/false), vocab_(vocab), merges_(merges) {}

  bool saw_vocab() const { return saw_vocab_; }
  bool saw_merges() const { return saw_merges_; }
  const std::string& error() const { return error_; }

  bool null() { return mode_ == Mode::kDom ? dom_.null() : Unexpected("null"); }
  bool boolean(bool v) {
    return mode_ == Mode::kDom ? dom_.boolean(v) : Unexpected(v ? "true" : "false");
  }
  bool number_integer(json::number_integer_t v) {
    if (mode_ == Mode::kVocab) return VocabId(v);
    return mode_ == Mode::kDom ? dom_.number_integer(v) : Unexpected(std::to_string(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (mode_ == Mode::kVocab) {
      return v > INT32_MAX ? Unexpected(std::to_string(v)) : VocabId(static_cast<int64_t>(v));
    }
    return mode_ == Mode::kDom ? dom_.number_unsigned(v) : Unexpected(std::to_string(v));
  }
  bool number_float(json::number_float_t v, const std::string& s) {
    return mode_ == Mode::kDom ? dom_.number_float(v, s) : Unexpected(s);
  }
  bool string(std::string& v) {
    if (mode_ == Mode::kDom) return dom_.string(v);
    if (mode_ == Mode::kVocab) return Unexpected("\"" + v + "\"");
    if (depth_ == kModelDepth + 1) {  // "left right"
      const size_t space = v.find(' ');
      if (space == std::string::npos || v.find(' ', space + 1) != std::string::npos) {
        return Fail(absl::StrCat("model.merges[", merges_->size(),
                                 "]: expected \"left right\", got \"", v, "\""));
      }
      merges_->emplace_back(v.substr(0, space), v.substr(space + 1));
      return true;
    }
    // Inside a ["left", "right"] pair.
    if (pair_size_ >= 2)
      return Fail(absl::StrCat("model.merges[", merges_->size(), "]: expected two strings"));
    (pair_size_ == 0 ? pair_.first : pair_.second) = std::move(v);
    ++pair_size_;
    return true;
  }
  bool binary(json::binary_t& v) {
    return mode_ == Mode::kDom ? dom_.binary(v) : Unexpected("binary");
  }

  bool start_object(size_t n) {
    ++depth_;
    keys_.resize(depth_ + 1);
    keys_[depth_].clear();  // the new container's own keys
    if (mode_ != Mode::kDom) return Unexpected("an object");
    if (InModel("vocab")) {
      mode_ = Mode::kVocab;
      saw_vocab_ = true;
      return true;
    }
    return dom_.start_object(n);
  }
  bool key(std::string& k) {
    if (mode_ == Mode::kVocab) {
      vocab_key_ = std::move(k);
      return true;
    }
    keys_[depth_] = k;
    return dom_.key(k);
  }
  bool end_object() {
    --depth_;
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
      return true;
    }
    return dom_.end_object();
  }
  bool start_array(size_t n) {
    ++depth_;
    keys_.resize(depth_ + 1);
    keys_[depth_].clear();  // the new container's own keys
    if (mode_ == Mode::kMerges) {
      if (depth_ != kModelDepth + 2) return Unexpected("a nested array");
      pair_size_ = 0;
      return true;
    }
    if (mode_ == Mode::kVocab) return Unexpected("an array");
    if (InModel("merges")) {
      mode_ = Mode::kMerges;
      saw_merges_ = true;
      return true;
    }
    return dom_.start_array(n);
  }
  bool end_array() {
    --depth_;
    if (mode_ == Mode::kMerges) {
      if (depth_ == kModelDepth) {
        mode_ = Mode::kDom;
      } else {
        if (pair_size_ != 2) {
          return Fail(absl::StrCat("model.merges[", merges_->size(), "]: expected two strings"));
        }
        merges_->push_back(std::move(pair_));
      }
      return true;
    }
    return dom_.end_array();
  }
  bool parse_error(size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    return Fail(absl::StrCat("invalid JSON: ", e.what()));
  }

 private:
  enum class Mode { kDom, kVocab, kMerges };
  static constexpr int kModelDepth = 2;  // the top-level object is depth 1, "model" depth 2

  // Whether the container just opened is model.<name> of the top-level object.
  bool InModel(const char* name) const {
    return depth_ == kModelDepth + 1 && keys_[1] == "model" && keys_[2] == name;
  }
  bool VocabId(int64_t id) {
    if (id < 0 || id > INT32_MAX / 2) return Unexpected(std::to_string(id));
    vocab_->emplace_back(std::move(vocab_key_), id);
    return true;
  }
  bool Unexpected(const std::string& what) {
    if (mode_ == Mode::kVocab) {
      return Fail("model.vocab[\"" + vocab_key_ + "\"]: expected a non-negative integer id, got " +
                  what);
    }
    return Fail(absl::StrCat("model.merges[", merges_->size(),
                             "]: expected \"left right\" or [\"left\", \"right\"], got ", what));
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  DomParser dom_;
  std::vector<std::pair<std::string, int64_t>>* vocab_;
  std::vector<std::pair<std::string, std::string>>* merges_;
  Mode mode_ = Mode::kDom;
  int depth_ = 0;
  std::vector<std::string> keys_ = std::vector<std::string>(1);  // last key per depth
  std::string vocab_key_;
  std::pair<std::string, std::string> pair_;
  int pair_size_ = 0;
  bool saw_vocab_ = false;
  bool saw_merges_ = false;
  std::string error_;
};

struct HeapEntry {
  int32_t rank;
  int32_t pos;
  bool operator>(const HeapEntry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

struct BpeTokenizer::RawModel {
  std::vector<std::pair<std::string, int64_t>> vocab;       // token (ByteLevel alphabet), id
  std::vector<std::pair<std::string, std::string>> merges;  // by rank
  bool has_vocab = false;
  bool has_merges = false;
};

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromJson(
    std::string tokenizer_json, std::optional<std::string> tokenizer_config_json,
    const std::string& source) {
  std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
  {
    json parsed;
    RawModel raw;
    TokenizerJsonSax sax(&parsed, &raw.vocab, &raw.merges);
    bool parsed_ok = false;
    try {
      parsed_ok = json::sax_parse(tokenizer_json, &sax);
    } catch (const json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", e.what()));
    }
    if (!parsed_ok || !sax.error().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", sax.error().empty() ? "invalid JSON" : sax.error()));
    }
    raw.has_vocab = sax.saw_vocab();
    raw.has_merges = sax.saw_merges();
    std::optional<json> config;
    if (tokenizer_config_json.has_value()) {
      const std::string config_source = source + " (tokenizer_config.json)";
      R1_ASSIGN_OR_RETURN(config, ParseJson(*tokenizer_config_json, config_source));
      if (!config->is_object()) return Bad(config_source, "top level", "expected an object");
    }
    R1_RETURN_IF_ERROR(tok->Parse(parsed, &raw, config ? &*config : nullptr, source));
  }
  tok->tokenizer_json_ = std::move(tokenizer_json);
  tok->tokenizer_config_json_ = std::move(tokenizer_config_json);
  return tok;
}

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Load(
    const std::string& tokenizer_json_path) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(tokenizer_json_path));
  const size_t slash = tokenizer_json_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : tokenizer_json_path.substr(0, slash);
  const std::string config_path = JoinPath(dir, "tokenizer_config.json");
  std::optional<std::string> config;
  if (PathExists(config_path)) {
    R1_ASSIGN_OR_RETURN(config, ReadFile(config_path));
  }
  return FromJson(std::move(text), std::move(config), tokenizer_json_path);
}

absl::Status BpeTokenizer::Parse(const json& tok, RawModel* raw, const json* config,
                                 const std::string& source) {
  if (!tok.is_object()) return Bad(source, "top level", "expected a JSON object");
  if (const json* n = Find(tok, "normalizer")) {
    R1_RETURN_IF_ERROR(ParseNormalizer(*n, "normalizer", source, &normalizers_));
  }
  const json* pre = Find(tok, "pre_tokenizer");
  if (pre == nullptr) return Bad(source, "pre_tokenizer", "missing (a ByteLevel one is required)");
  R1_ASSIGN_OR_RETURN(split_pattern_, ParsePreTokenizer(*pre, source));
  if (const json* decoder = Find(tok, "decoder")) {
    R1_ASSIGN_OR_RETURN(std::string type, StringField(*decoder, "type", "decoder", source));
    if (type != "ByteLevel") {
      return Bad(source, "decoder.type", "unsupported decoder \"" + type + "\" (need ByteLevel)");
    }
  }

  const json* model = Find(tok, "model");
  if (model == nullptr || !model->is_object())
    return Bad(source, "model", "missing or not an object");
  R1_ASSIGN_OR_RETURN(std::string type, StringField(*model, "type", "model", source));
  if (!type.empty() && type != "BPE") {
    return Bad(source, "model.type", "unsupported model \"" + type + "\" (need BPE)");
  }
  R1_ASSIGN_OR_RETURN(bool byte_fallback, BoolField(*model, "byte_fallback", "model", source));
  if (byte_fallback) return Bad(source, "model.byte_fallback", "true is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    R1_ASSIGN_OR_RETURN(std::string value, StringField(*model, key, "model", source));
    if (!value.empty()) return Bad(source, std::string("model.") + key, "must be empty");
  }
  if (const json* dropout = Find(*model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      return Bad(source, "model.dropout", "BPE dropout is not supported, got " + Show(*dropout));
    }
  }
  R1_ASSIGN_OR_RETURN(ignore_merges_, BoolField(*model, "ignore_merges", "model", source));

  // Vocabulary: token strings are written in the ByteLevel alphabet; store raw bytes.
  const ByteLevelMap byte_level;
  if (!raw->has_vocab) return Bad(source, "model.vocab", "missing or not an object");
  std::vector<std::pair<int32_t, std::string>> entries;
  entries.reserve(raw->vocab.size());
  bytes_to_id_.reserve(raw->vocab.size() * 2);
  int64_t max_id = -1;
  for (auto& [token, id64] : raw->vocab) {
    const int32_t id = static_cast<int32_t>(id64);  // the SAX parser checked the range
    absl::StatusOr<std::string> bytes = byte_level.Decode(token);
    if (!bytes.ok()) return Bad(source, "model.vocab", bytes.status().message());
    bytes_to_id_.emplace(*bytes, id);
    entries.emplace_back(id, std::move(*bytes));
    max_id = std::max<int64_t>(max_id, id);
  }
  raw->vocab = {};
  for (int b = 0; b < 256; ++b) {
    auto it = bytes_to_id_.find(std::string(1, static_cast<char>(b)));
    if (it == bytes_to_id_.end()) {
      return Bad(source, "model.vocab",
                 absl::StrFormat("no token for byte 0x%02X (not a byte-level vocabulary)", b));
    }
    byte_ids_[b] = it->second;
  }

  // Added tokens.
  if (const json* added = Find(tok, "added_tokens")) {
    if (!added->is_array()) return Bad(source, "added_tokens", "expected an array");
    for (size_t i = 0; i < added->size(); ++i) {
      const json& a = (*added)[i];
      const std::string where = absl::StrCat("added_tokens[", i, "]");
      const json* id = Find(a, "id");
      if (id == nullptr || !id->is_number_integer() || id->get<int64_t>() < 0 ||
          id->get<int64_t>() > INT32_MAX / 2) {
        return Bad(source, where + ".id", "expected a non-negative integer");
      }
      R1_ASSIGN_OR_RETURN(std::string content, StringField(a, "content", where, source));
      if (content.empty()) return Bad(source, where + ".content", "missing or empty");
      R1_RETURN_IF_ERROR(ValidateUtf8(content));
      added_.push_back({std::move(content), static_cast<int32_t>(id->get<int64_t>())});
      max_id = std::max<int64_t>(max_id, id->get<int64_t>());
    }
  }
  std::stable_sort(added_.begin(), added_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  for (size_t i = 0; i < added_.size(); ++i) {
    added_by_first_byte_[static_cast<uint8_t>(added_[i].content[0])].push_back(
        static_cast<int32_t>(i));
    added_ids_.emplace(added_[i].content, added_[i].id);
  }

  vocab_size_ = static_cast<int32_t>(max_id + 1);
  id_to_bytes_.assign(vocab_size_, std::string());
  has_token_.assign(vocab_size_, false);
  for (auto& [id, bytes] : entries) {
    id_to_bytes_[id] = std::move(bytes);
    has_token_[id] = true;
  }
  for (const AddedToken& a : added_) {
    id_to_bytes_[a.id] = a.content;  // added tokens decode to their literal text
    has_token_[a.id] = true;
  }

  // Merges, by rank: "a b" strings or ["a", "b"] pairs.
  if (!raw->has_merges) return Bad(source, "model.merges", "missing or not an array");
  merges_.reserve(raw->merges.size() * 2);
  for (size_t i = 0; i < raw->merges.size(); ++i) {
    const std::string parts[2] = {std::move(raw->merges[i].first),
                                  std::move(raw->merges[i].second)};
    int32_t ids[2];
    std::string merged;
    for (int k = 0; k < 2; ++k) {
      absl::StatusOr<std::string> bytes = byte_level.Decode(parts[k]);
      if (!bytes.ok())
        return Bad(source, absl::StrCat("model.merges[", i, "]"), bytes.status().message());
      auto it = bytes_to_id_.find(*bytes);
      if (it == bytes_to_id_.end()) {
        return Bad(source, absl::StrCat("model.merges[", i, "]"),
                   "token \"" + parts[k] + "\" is not in model.vocab");
      }
      ids[k] = it->second;
      merged += *bytes;
    }
    auto it = bytes_to_id_.find(merged);
    if (it == bytes_to_id_.end()) {
      return Bad(source, absl::StrCat("model.merges[", i, "]"),
                 "merged token \"" + parts[0] + parts[1] + "\" is not in model.vocab");
    }
    const uint64_t key = (static_cast<uint64_t>(ids[0]) << 32) | static_cast<uint32_t>(ids[1]);
    merges_.emplace(key, Merge{static_cast<int32_t>(i), it->second});  // first rank wins
  }

  // Special tokens.
  const auto resolve = [&](const std::string& text) -> std::optional<int32_t> {
    if (text.empty()) return std::nullopt;
    if (auto it = added_ids_.find(text); it != added_ids_.end()) return it->second;
    if (auto it = bytes_to_id_.find(text); it != bytes_to_id_.end()) return it->second;
    return std::nullopt;
  };
  for (const std::string& candidate : {ConfigToken(config, "eos_token"), std::string(kEndOfText)}) {
    if (auto id = resolve(candidate)) {
      eos_id_ = *id;
      eos_token_ = candidate;
      break;
    }
  }
  if (eos_id_ < 0) {
    return Bad(source, "eos",
               "no end-of-sequence token: tokenizer_config.json has no known \"eos_token\" and "
               "there is no \"<|endoftext|>\" token");
  }
  for (const std::string& candidate :
       {ConfigToken(config, "pad_token"), std::string(kEndOfText), eos_token_}) {
    if (auto id = resolve(candidate)) {
      pad_id_ = *id;
      pad_token_ = candidate;
      break;
    }
  }
  return absl::OkStatus();
}

const BpeTokenizer::Merge* BpeTokenizer::FindMerge(int32_t left, int32_t right) const {
  const uint64_t key = (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  auto it = merges_.find(key);
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeTokenizer::EncodePiece(absl::string_view piece, std::vector<int32_t>* ids) const {
  if (piece.size() == 1) {
    ids->push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    if (auto it = bytes_to_id_.find(std::string(piece)); it != bytes_to_id_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  // Symbols in a doubly linked list; a min-heap of candidate merges by (rank, position). Entries
  // go stale when a neighbour merges; they are recognised by re-looking up the pair.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  const int32_t n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> sym(n);
  for (int32_t i = 0; i < n; ++i) {
    sym[i] = {byte_ids_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<HeapEntry>> heap;
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const Merge* m = FindMerge(sym[i].id, sym[i + 1].id)) heap.push({m->rank, i});
  }
  while (!heap.empty()) {
    const HeapEntry top = heap.top();
    heap.pop();
    Symbol& left = sym[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    const Merge* m = FindMerge(left.id, right.id);
    if (m == nullptr || m->rank != top.rank) continue;  // stale
    left.id = m->merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const Merge* pm = FindMerge(sym[left.prev].id, left.id)) heap.push({pm->rank, left.prev});
    }
    if (left.next >= 0) {
      if (const Merge* nm = FindMerge(left.id, sym[left.next].id)) heap.push({nm->rank, top.pos});
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) ids->push_back(sym[i].id);
}

absl::Status BpeTokenizer::EncodeOrdinary(absl::string_view text, std::vector<int32_t>* ids) const {
  if (text.empty()) return absl::OkStatus();
  std::string normalized;
  if (!normalizers_.empty()) {
    normalized = std::string(text);
    for (NormalizationForm form : normalizers_) {
      R1_ASSIGN_OR_RETURN(normalized, Normalize(normalized, form));
    }
    text = normalized;
  }
  R1_ASSIGN_OR_RETURN(std::vector<absl::string_view> pieces, SplitPieces(text, split_pattern_));
  for (absl::string_view piece : pieces) EncodePiece(piece, ids);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> BpeTokenizer::Encode(absl::string_view text) const {
  R1_RETURN_IF_ERROR(ValidateUtf8(text));
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  size_t segment_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* match = nullptr;
    for (int32_t index : added_by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& a = added_[index];
      if (text.substr(pos, a.content.size()) == a.content) {
        match = &a;  // longest first
        break;
      }
    }
    if (match == nullptr) {
      ++pos;
      continue;
    }
    R1_RETURN_IF_ERROR(EncodeOrdinary(text.substr(segment_start, pos - segment_start), &ids));
    ids.push_back(match->id);
    pos += match->content.size();
    segment_start = pos;
  }
  R1_RETURN_IF_ERROR(EncodeOrdinary(text.substr(segment_start), &ids));
  return ids;
}

absl::StatusOr<std::string> BpeTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is outside [0, ", vocab_size_, ")"));
    }
    if (!has_token_[id]) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " has no token"));
    }
    out += id_to_bytes_[id];
  }
  return out;
}

std::optional<int32_t> BpeTokenizer::TokenId(absl::string_view token) const {
  if (auto it = added_ids_.find(std::string(token)); it != added_ids_.end()) return it->second;
  if (token == eos_token_) return eos_id_;
  if (token == pad_token_) return pad_id_;
  return std::nullopt;
}

absl::Status BpeTokenizer::SaveTo(const std::string& dir) const {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("tokenizer SaveTo: ", dir, " is not a directory"));
  }
  R1_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir, "tokenizer.json"), tokenizer_json_));
  std::string config;
  if (tokenizer_config_json_.has_value()) {
    config = *tokenizer_config_json_;
  } else {
    config = json{{"eos_token", eos_token_}, {"pad_token", pad_token_}}.dump(2) + "\n";
  }
  return WriteFileAtomic(JoinPath(dir, "tokenizer_config.json"), config);
}

}  // namespace r1
