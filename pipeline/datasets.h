// Typed dataset readers: JSONL files of GSM8K problems, prompt/answer pairs, chat conversations
// and preference pairs become plain structs (Example, PreferencePair). Field names are
// configurable; every bad record is an error naming file and line, or is skipped and counted.
//
// Formats (one JSON object per line; field names are the defaults):
//   gsm8k:          {"question": "...", "answer": "step...\n#### 72"}
//                   -> prompt = question, solution = the whole answer text,
//                      reference = the text after the last "####", trimmed, thousands
//                      separators removed ("1,080" -> "1080").
//   prompt_answer:  {"prompt": "...", "answer": "42" or 42, "solution": "..." (optional),
//                    "id": "..." (optional), "task": "..." (optional)}
//                   -> prompt, reference = answer (numbers written in JSON form), solution.
//   chat:           {"messages": [{"role": "user", "content": "..."}, ...], "answer": optional}
//                   -> messages; prompt = content of the last user message; solution = content
//                      of the final message when it is the assistant's; reference = answer.
//   preference:     {"prompt": "...", "chosen": "...", "rejected": "..."}
//   code:           {"prompt" or "question": "...", and tests: "tests": [{"input", "output"}, ...]
//                    (or an object / a JSON string of one), "input_output": "{\"inputs\": [...],
//                    \"outputs\": [...]}" (APPS, TACO), "test_code": "assert ..." or [...],
//                    "test_list": ["assert ...", ...] (MBPP); "solution" optional}
//                   -> prompt, reference = the tests as the code reward reads them
//                      (stages/rewards/code.h: {"tests": [...], "input_output": "...",
//                      "test_code": [...]}), solution, task "code". Call-based tests ("fn_name")
//                      are an error (skipped with skip_bad_lines).
// Ids: the "id" field when present (string or integer), else "<file name>:<line>".
#ifndef R1_PIPELINE_DATASETS_H_
#define R1_PIPELINE_DATASETS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"
#include "pipeline/jsonl.h"

namespace r1 {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant" (other non-empty roles are kept as is)
  std::string content;
};

// One prompt with what is known about its answer. Fields that a format does not have are empty.
struct Example {
  std::string id;
  std::string prompt;     // the user's question, without any template around it
  std::string reference;  // the verifiable reference answer ("72"), compared by rewards
  std::string solution;   // a gold response (GSM8K worked solution, or R1-format response)
  std::vector<ChatMessage> messages;  // chat datasets only
  std::string task;  // optional task tag ("gsm8k", "arithmetic", "countdown", "echo", ...)
  // False for prompts of a non-reasoning (general) dataset: in RL, rule rewards score reasoning
  // prompts and reward models general ones (RewardConfig::applies_to).
  bool reasoning = true;
};

struct PreferencePair {
  std::string id;
  std::string prompt;
  std::string chosen;    // the better response
  std::string rejected;  // the worse response
};

enum class DatasetFormat { kGsm8k, kPromptAnswer, kChat, kPreference, kCode };

// "gsm8k", "prompt_answer", "chat", "preference", "code". InvalidArgument listing the known names.
absl::StatusOr<DatasetFormat> ParseDatasetFormat(absl::string_view name);
std::string DatasetFormatName(DatasetFormat format);

// Field names. An empty name means the format's default (see the table at the top).
struct DatasetFields {
  std::string id;        // default "id" (optional in the data)
  std::string prompt;    // default "question" for gsm8k, "prompt" otherwise
  std::string answer;    // default "answer" (code: the tests field, default as in the table)
  std::string solution;  // default "solution" (optional in the data; prompt_answer only)
  std::string messages;  // default "messages"
  std::string chosen;    // default "chosen"
  std::string rejected;  // default "rejected"
  std::string task;      // default "task" (optional in the data)
};

struct DatasetOptions {
  DatasetFields fields;
  JsonlReadOptions jsonl;    // skip_bad_lines lives here
  int64_t max_examples = 0;  // stop after this many (0 = all)
  // GSM8K only: remove the calculator annotations "<<48/2=24>>" from the solution.
  bool strip_calculator_annotations = false;
};

// Reads examples of `format` (not kPreference) from a JSONL file. Errors: NotFound for a missing
// file; InvalidArgument "FILE:LINE: field \"answer\": ..." for a bad record unless
// options.jsonl.skip_bad_lines. `stats` (may be null) receives the counts.
absl::StatusOr<std::vector<Example>> ReadExamples(const std::string& path, DatasetFormat format,
                                                  const DatasetOptions& options = {},
                                                  JsonlReadStats* stats = nullptr);

// Shorthands for ReadExamples with one format.
absl::StatusOr<std::vector<Example>> ReadGsm8k(const std::string& path,
                                               const DatasetOptions& options = {},
                                               JsonlReadStats* stats = nullptr);
absl::StatusOr<std::vector<Example>> ReadPromptAnswer(const std::string& path,
                                                      const DatasetOptions& options = {},
                                                      JsonlReadStats* stats = nullptr);
absl::StatusOr<std::vector<Example>> ReadChat(const std::string& path,
                                              const DatasetOptions& options = {},
                                              JsonlReadStats* stats = nullptr);

// Reads preference pairs {"prompt","chosen","rejected"}; errors as ReadExamples.
absl::StatusOr<std::vector<PreferencePair>> ReadPreferencePairs(const std::string& path,
                                                                const DatasetOptions& options = {},
                                                                JsonlReadStats* stats = nullptr);

// Converts one parsed JSON object. `fallback_id` is used when the object has no id. Errors are
// InvalidArgument naming the field (without file/line; the readers add those).
absl::StatusOr<Example> ExampleFromJson(const nlohmann::json& object, DatasetFormat format,
                                        const DatasetOptions& options,
                                        const std::string& fallback_id);
absl::StatusOr<PreferencePair> PreferencePairFromJson(const nlohmann::json& object,
                                                      const DatasetOptions& options,
                                                      const std::string& fallback_id);

// The prompt_answer form of `example` with default field names ({"id","prompt","answer",
// "solution","task"}, empty fields left out; "messages" when present), so that ReadPromptAnswer
// (or ReadChat, for chat examples) reads it back.
nlohmann::json ExampleToJson(const Example& example);
nlohmann::json PreferencePairToJson(const PreferencePair& pair);

// The GSM8K reference: text after the last "####", trimmed, with thousands separators removed.
// InvalidArgument if there is no "####" or nothing after it.
absl::StatusOr<std::string> ExtractGsm8kReference(absl::string_view answer);

// `solution` without GSM8K calculator annotations: "48/2 = <<48/2=24>>24" -> "48/2 = 24".
std::string StripCalculatorAnnotations(absl::string_view solution);

}  // namespace r1

#endif  // R1_PIPELINE_DATASETS_H_
