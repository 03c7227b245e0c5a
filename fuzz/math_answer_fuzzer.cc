// Fuzzes the answer extractor and math normaliser (stages/rewards/math_answer.h) with model
// responses and references: none may crash, and the extractor keeps its contract (empty text iff
// no answer was found). The input is "candidate\0reference" (no NUL: both are the input).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "stages/rewards/math_answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const absl::string_view candidate = input.substr(0, nul);
  const absl::string_view reference =
      nul == absl::string_view::npos ? input : input.substr(nul + 1);

  const r1::ExtractedAnswer extracted = r1::ExtractAnswer(candidate);
  if (extracted.text.empty() != (extracted.source == r1::AnswerSource::kNone)) {
    std::fprintf(stderr, "ExtractAnswer: text \"%s\" with source %s\n", extracted.text.c_str(),
                 std::string(r1::AnswerSourceName(extracted.source)).c_str());
    std::abort();
  }
  (void)r1::NormalizeAnswer(candidate);
  (void)r1::ExtractReferenceAnswer(reference);
  (void)r1::AnswersEquivalent(extracted.text, r1::ExtractReferenceAnswer(reference));
  (void)r1::AnswersEquivalent(candidate, reference);
  return 0;
}
