// Prompt templates by name (see templates.h).
#include "pipeline/templates.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace r1 {

const char kR1ZeroPreamble[] =
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning "
    "process here </think> <answer> answer here </answer>.";

const std::vector<std::string>& PromptTemplateNames() {
  static const auto* names = new std::vector<std::string>{"chatml", "plain", "r1_zero", "raw"};
  return *names;
}

absl::StatusOr<PromptTemplate> PromptTemplate::ByName(absl::string_view name) {
  PromptTemplate t;
  t.name_ = std::string(name);
  if (name == "r1_zero") {
    t.preamble_ = kR1ZeroPreamble;
    t.system_suffix_ = "";  // a system message replaces the preamble
    t.user_prefix_ = " User: ";
    t.user_suffix_ = ".";
    t.generation_prompt_ = " Assistant:";
  } else if (name == "chatml") {
    t.system_prefix_ = "<|im_start|>system\n";
    t.system_suffix_ = "<|im_end|>\n";
    t.user_prefix_ = "<|im_start|>user\n";
    t.user_suffix_ = "<|im_end|>\n";
    t.generation_prompt_ = "<|im_start|>assistant\n";
    t.response_suffix_ = "<|im_end|>\n";
  } else if (name == "plain") {
    t.system_suffix_ = "\n";
    t.user_prefix_ = "User: ";
    t.user_suffix_ = "\n";
    t.generation_prompt_ = "Assistant: ";
    t.response_suffix_ = "\n";
  } else if (name == "raw") {
    // Everything empty: contents are concatenated.
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown prompt template \"", name,
                     "\" (known: ", absl::StrJoin(PromptTemplateNames(), ", "), ")"));
  }
  return t;
}

absl::StatusOr<PromptTemplate> PromptTemplate::FromSpec(absl::string_view spec) {
  for (const std::string& name : PromptTemplateNames()) {
    if (spec == name) return ByName(name);
  }
  constexpr absl::string_view kSlot = "{prompt}";
  const size_t at = spec.find(kSlot);
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown template \"", spec, "\": expected ", absl::StrJoin(PromptTemplateNames(), ", "),
        ", or a custom template text containing {prompt}"));
  }
  if (spec.find(kSlot, at + kSlot.size()) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("a custom template must contain {prompt} exactly once, got \"", spec, "\""));
  }
  PromptTemplate t;
  t.name_ = "custom";
  t.system_suffix_ = "\n";
  t.user_prefix_ = std::string(spec.substr(0, at));
  t.user_suffix_ = std::string(spec.substr(at + kSlot.size()));
  t.response_suffix_ = "\n";
  return t;
}

std::string PromptTemplate::RenderPrompt(absl::string_view prompt) const {
  return absl::StrCat(preamble_, user_prefix_, prompt, user_suffix_, generation_prompt_);
}

absl::StatusOr<std::string> PromptTemplate::RenderChat(absl::Span<const ChatMessage> messages,
                                                       bool add_generation_prompt) const {
  std::string out;
  bool has_system = !messages.empty() && messages[0].role == "system";
  if (!has_system) out = preamble_;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      if (i != 0) {
        return absl::InvalidArgumentError(absl::StrCat("template ", name_, ": message ", i,
                                                       ": a system message must come first"));
      }
      absl::StrAppend(&out, system_prefix_, m.content, system_suffix_);
    } else if (m.role == "user") {
      absl::StrAppend(&out, user_prefix_, m.content, user_suffix_);
    } else if (m.role == "assistant") {
      absl::StrAppend(&out, generation_prompt_, m.content, response_suffix_);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("template ", name_, ": message ", i,
                                                     ": unknown role \"", m.role,
                                                     "\" (known: system, user, assistant)"));
    }
  }
  if (add_generation_prompt) out += generation_prompt_;
  return out;
}

}  // namespace r1
