// Prompt templates: the text placed around a user's prompt (and around a whole chat) before the
// model continues it. Chosen by name: "r1_zero" (the DeepSeek-R1-Zero training template),
// "chatml" (Qwen/ChatML), "plain" (a short one for the byte tokenizer) and "raw" (no template);
// or written out as a custom text with one "{prompt}" where the prompt goes (FromSpec).
//
// Every template satisfies, for any messages M and response r:
//   RenderChat(M + {assistant, r}, false) == RenderChat(M, true) + r + response_suffix()
// so SFT data and generation prompts agree byte for byte. The tokenizer's end-of-sequence token is
// not part of any template.
//
//   r1_zero  "A conversation between User and Assistant. ... User: {prompt}. Assistant:"
//            (a system message, if first, replaces the preamble; the response follows the colon
//            directly)
//   chatml   "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n", suffix
//            "<|im_end|>\n"; a system message renders as "<|im_start|>system\n...<|im_end|>\n"
//   plain    "User: {prompt}\nAssistant: ", suffix "\n"; a system message renders as "{text}\n"
//   raw      "{prompt}"; messages are concatenated as they are
//   custom   BEFORE{prompt}AFTER: a user turn renders as BEFORE + content + AFTER, the assistant
//            header is empty, the response suffix "\n"; a system message renders as "{text}\n"
#ifndef R1_PIPELINE_TEMPLATES_H_
#define R1_PIPELINE_TEMPLATES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "pipeline/datasets.h"

namespace r1 {

// The R1-Zero preamble, exactly as in the paper (R1-RECIPE.md), before " User: {prompt}.".
extern const char kR1ZeroPreamble[];

// An immutable value; thread-safe.
class PromptTemplate {
 public:
  // One of PromptTemplateNames(); InvalidArgument listing the known names otherwise.
  static absl::StatusOr<PromptTemplate> ByName(absl::string_view name);

  // What a config's `template:` holds: one of PromptTemplateNames(), or a custom template text
  // containing "{prompt}" exactly once (its name() is then "custom"). InvalidArgument naming the
  // accepted forms otherwise (no message prefix: callers add the key path).
  static absl::StatusOr<PromptTemplate> FromSpec(absl::string_view spec);

  const std::string& name() const { return name_; }

  // The text a model continues to answer `prompt` (a single user turn with the generation
  // prompt), e.g. chatml: "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n".
  std::string RenderPrompt(absl::string_view prompt) const;

  // A whole conversation, ending with the assistant header when `add_generation_prompt`.
  // InvalidArgument naming the message index for a role other than system/user/assistant, or a
  // system message that is not the first.
  absl::StatusOr<std::string> RenderChat(absl::Span<const ChatMessage> messages,
                                         bool add_generation_prompt) const;

  // What follows an assistant response inside a rendered chat (see the invariant above).
  const std::string& response_suffix() const { return response_suffix_; }

 private:
  PromptTemplate() = default;

  std::string name_;
  std::string preamble_;  // text before the first turn when there is no system message
  std::string system_prefix_, system_suffix_;
  std::string user_prefix_, user_suffix_;
  std::string generation_prompt_;  // the assistant header
  std::string response_suffix_;
};

// "chatml", "plain", "r1_zero", "raw".
const std::vector<std::string>& PromptTemplateNames();

}  // namespace r1

#endif  // R1_PIPELINE_TEMPLATES_H_
