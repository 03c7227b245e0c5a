// The language-consistency reward (R1 stage 2): the share of the chain of thought's words written
// in the target language, judged by Unicode script (ICU): Latin, Han, Cyrillic, Arabic, ...
#ifndef R1_STAGES_REWARDS_LANGUAGE_H_
#define R1_STAGES_REWARDS_LANGUAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stages/rewards/reward.h"

namespace r1 {

// Words by script. A word is a maximal run of letters of one script between whitespace or
// punctuation; a change of script starts a new word ("hello世界" is two). In scripts written
// without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) every character is a word.
// Characters of the Common/Inherited scripts (digits, symbols, combining marks) belong to no
// script, so a word of digits or punctuation only does not count. Invalid UTF-8 bytes separate
// words. Keys are ICU long script names ("Latin", "Han", "Cyrillic").
struct ScriptWordCounts {
  std::map<std::string, int64_t> by_script;
  int64_t total = 0;
};
ScriptWordCounts CountWordsByScript(absl::string_view text);

// The chain of thought: the text inside <think>...</think> (to the end if unclosed), or before a
// lone "</think>" (templates that open the tag in the prompt), else the whole response.
absl::string_view ChainOfThought(absl::string_view response);

// Canonical ICU long names ("Latin") of a comma-separated list of script names or codes, any case
// ("latin", "Latn", "han,hiragana,katakana"). InvalidArgument naming an unknown name.
absl::StatusOr<std::vector<std::string>> ParseScriptNames(absl::string_view names);

struct LanguageOptions {
  // Target scripts (canonical names, see ParseScriptNames); empty: the prompt's dominant script
  // (most words; ties go to the alphabetically first name).
  std::vector<std::string> target_scripts;
  double empty_score = 1.0;  // value when the chain of thought has no counted word
};

// Share in [0, 1] of the chain of thought's words in a target script. InvalidArgument when no
// target is configured and the prompt has no word to infer one from.
absl::StatusOr<double> LanguageConsistency(absl::string_view response, absl::string_view prompt,
                                           const LanguageOptions& options);

// Registry factory. Params: {"target": "latin" | "han,hiragana,katakana" | "" (from the prompt),
// "empty_score": number}.
absl::StatusOr<std::unique_ptr<RuleReward>> MakeLanguageReward(const nlohmann::json& params);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_LANGUAGE_H_
