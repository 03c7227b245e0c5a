// Math answer verification for the accuracy reward: extracts the final answer from a response,
// normalises answers (LaTeX, separators, currency, units) and decides whether two are equivalent.
#ifndef R1_STAGES_REWARDS_MATH_ANSWER_H_
#define R1_STAGES_REWARDS_MATH_ANSWER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace r1 {

// Where an extracted answer was found, in order of preference.
enum class AnswerSource {
  kNone,        // nothing that looks like an answer
  kAnswerTag,   // the last complete <answer>...</answer>
  kBoxed,       // the last \boxed{...} or \fbox{...} (nested braces allowed)
  kHashes,      // "#### N" (GSM8K style), rest of that line
  kAnswerIs,    // "... answer is N", rest of that sentence
  kFinalLine,   // a final line "A: N" or "Answer: N"
  kLastNumber,  // the last number anywhere in the text
};

// Name for logs and tests: "answer_tag", "boxed", "hashes", "answer_is", "final_line",
// "last_number", "none".
absl::string_view AnswerSourceName(AnswerSource source);

struct ExtractedAnswer {
  std::string text;  // the answer as written (trimmed, not normalised); empty iff source == kNone
  AnswerSource source = AnswerSource::kNone;
};

// Extracts the final answer of a model response, trying in order: the last complete
// <answer>...</answer> tag, the last \boxed{...}/\fbox{...}, "#### N", "the answer is N", a final
// "A: N"/"Answer: N" line, the last number. Inside an <answer> tag the content itself is searched
// for \boxed / #### / "answer is" first (e.g. "<answer>\boxed{5}</answer>" gives "5").
// Never fails; runs in time linear in the input (no recursion, so arbitrarily deep nesting and
// unbalanced braces are safe — an unbalanced \boxed{ is ignored).
ExtractedAnswer ExtractAnswer(absl::string_view response);

// The answer part of a reference: the text after the last "####" (GSM8K solutions), else the
// content of the last \boxed{...}, else the whole reference, trimmed.
std::string ExtractReferenceAnswer(absl::string_view reference);

// Canonical text form of an answer, used for comparison: Unicode minus -> '-', '$' and math
// delimiters removed, \text{}/\mathrm{}/\boxed{} unwrapped, \left \right and LaTeX spacing
// (\, \! \; \: ~ \quad) removed, \frac{a}{b} / \dfrac / \tfrac / \frac12 -> "a/b" (or "(a)/(b)"
// for non-numeric parts), degrees removed, thousands separators "1,000" -> "1000", whitespace
// collapsed, trailing periods and markdown '*' trimmed, ASCII lowercased. Linear time.
std::string NormalizeAnswer(absl::string_view answer);

// True when `candidate` and `reference` denote the same answer. Both are normalised first. If both
// parse as numbers (sign, leading zeros, decimals, a/b fractions, a trailing '%' or trailing words
// such as units — "18 dollars" — are accepted), they are compared exactly: canonical decimal
// strings (any length) or __int128 cross-multiplication for fractions; a fraction whose decimal
// expansion does not terminate (1/3) also matches a decimal within relative 1e-6 (0.333333);
// fractions too large for __int128 are compared in long double with relative 1e-6. "5%" equals 5
// (the percent sign is dropped, not divided). If only the reference is numeric, the candidate's
// number after its last
// '=' ("x = 5"), or its last number when it holds no LaTeX, is compared. Otherwise the normalised
// strings with all whitespace removed must be equal. An empty reference never matches.
bool AnswersEquivalent(absl::string_view candidate, absl::string_view reference);

}  // namespace r1

#endif  // R1_STAGES_REWARDS_MATH_ANSWER_H_
