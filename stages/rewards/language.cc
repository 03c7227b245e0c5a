// The language-consistency reward, with ICU's Unicode script property.
#include "stages/rewards/language.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "stages/rewards/reward_params.h"

namespace r1 {
namespace {

bool WrittenWithoutSpaces(UScriptCode script) {
  switch (script) {
    case USCRIPT_HAN:
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
    case USCRIPT_THAI:
    case USCRIPT_LAO:
    case USCRIPT_KHMER:
    case USCRIPT_MYANMAR:
      return true;
    default:
      return false;
  }
}

class LanguageReward : public RuleReward {
 public:
  explicit LanguageReward(LanguageOptions options) : options_(std::move(options)) {}
  absl::StatusOr<RewardValue> Compute(const RewardInput& input) const override {
    R1_ASSIGN_OR_RETURN(double value, LanguageConsistency(input.response, input.prompt, options_));
    return RewardValue{value, ""};
  }

 private:
  LanguageOptions options_;
};

}  // namespace

ScriptWordCounts CountWordsByScript(absl::string_view text) {
  std::map<UScriptCode, int64_t> counts;
  UScriptCode current = USCRIPT_INVALID_CODE;  // script of the word being read, if any
  auto end_word = [&] {
    if (current != USCRIPT_INVALID_CODE) ++counts[current];
    current = USCRIPT_INVALID_CODE;
  };
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(std::min<size_t>(text.size(), INT32_MAX));
  int32_t i = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    if (c < 0 || u_isUWhiteSpace(c) || u_ispunct(c)) {
      end_word();
      continue;
    }
    UErrorCode error = U_ZERO_ERROR;
    UScriptCode script = uscript_getScript(c, &error);
    if (U_FAILURE(error) || script == USCRIPT_COMMON || script == USCRIPT_INHERITED ||
        script == USCRIPT_UNKNOWN) {
      continue;  // digits, symbols, marks: part of the word, no script of their own
    }
    if (WrittenWithoutSpaces(script)) {
      end_word();
      ++counts[script];
      continue;
    }
    if (current != USCRIPT_INVALID_CODE && current != script) end_word();
    current = script;
  }
  end_word();
  ScriptWordCounts result;
  for (const auto& [script, n] : counts) {
    result.by_script[uscript_getName(script)] += n;
    result.total += n;
  }
  return result;
}

absl::string_view ChainOfThought(absl::string_view response) {
  constexpr absl::string_view kOpen = "<think>";
  constexpr absl::string_view kClose = "</think>";
  size_t open = response.find(kOpen);
  if (open != absl::string_view::npos) {
    size_t from = open + kOpen.size();
    size_t close = response.find(kClose, from);
    return response.substr(
        from, close == absl::string_view::npos ? absl::string_view::npos : close - from);
  }
  size_t close = response.find(kClose);
  if (close != absl::string_view::npos) return response.substr(0, close);
  return response;
}

absl::StatusOr<std::vector<std::string>> ParseScriptNames(absl::string_view names) {
  std::vector<std::string> scripts;
  for (absl::string_view name : absl::StrSplit(names, ',', absl::SkipWhitespace())) {
    std::string trimmed(absl::StripAsciiWhitespace(name));
    int32_t code = u_getPropertyValueEnum(UCHAR_SCRIPT, trimmed.c_str());
    if (code == UCHAR_INVALID_CODE || code == USCRIPT_COMMON || code == USCRIPT_INHERITED ||
        code == USCRIPT_UNKNOWN) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown script \"", trimmed,
          "\" (use a Unicode script name or code: latin, han, cyrillic, arabic, Latn, ...)"));
    }
    scripts.emplace_back(uscript_getName(static_cast<UScriptCode>(code)));
  }
  return scripts;
}

absl::StatusOr<double> LanguageConsistency(absl::string_view response, absl::string_view prompt,
                                           const LanguageOptions& options) {
  std::vector<std::string> targets = options.target_scripts;
  if (targets.empty()) {
    ScriptWordCounts prompt_counts = CountWordsByScript(prompt);
    if (prompt_counts.total == 0) {
      return absl::InvalidArgumentError(
          "no target language configured and the prompt has no words to infer one from");
    }
    auto best = prompt_counts.by_script.begin();
    for (auto it = prompt_counts.by_script.begin(); it != prompt_counts.by_script.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    targets.push_back(best->first);
  }
  ScriptWordCounts counts = CountWordsByScript(ChainOfThought(response));
  if (counts.total == 0) return options.empty_score;
  int64_t in_target = 0;
  for (const std::string& t : targets) {
    auto it = counts.by_script.find(t);
    if (it != counts.by_script.end()) in_target += it->second;
  }
  return static_cast<double>(in_target) / static_cast<double>(counts.total);
}

absl::StatusOr<std::unique_ptr<RuleReward>> MakeLanguageReward(const nlohmann::json& params) {
  R1_ASSIGN_OR_RETURN(RewardParams p,
                      RewardParams::Parse("language", params, {"target", "empty_score"}));
  LanguageOptions options;
  R1_ASSIGN_OR_RETURN(std::string target, p.String("target", ""));
  absl::StatusOr<std::vector<std::string>> scripts = ParseScriptNames(target);
  if (!scripts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("language: param \"target\": ", scripts.status().message()));
  }
  options.target_scripts = *std::move(scripts);
  R1_ASSIGN_OR_RETURN(options.empty_score, p.Double("empty_score", options.empty_score));
  return std::make_unique<LanguageReward>(std::move(options));
}

}  // namespace r1
