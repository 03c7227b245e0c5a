// Typed dataset readers (see datasets.h).
#include "pipeline/datasets.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "nlohmann/json.hpp"

namespace r1 {
namespace {

using nlohmann::json;

const std::string& Or(const std::string& name, const std::string& def) {
  return name.empty() ? def : name;
}

const std::string kId = "id";
const std::string kQuestion = "question";
const std::string kPrompt = "prompt";
const std::string kAnswer = "answer";
const std::string kSolution = "solution";
const std::string kMessages = "messages";
const std::string kChosen = "chosen";
const std::string kRejected = "rejected";
const std::string kTask = "task";

absl::Status FieldError(const std::string& field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": ", problem));
}

// A required string field.
absl::StatusOr<std::string> RequiredString(const json& object, const std::string& field) {
  auto it = object.find(field);
  if (it == object.end()) return FieldError(field, "missing");
  if (!it->is_string()) {
    return FieldError(field, absl::StrCat("expected a string, got ", it->type_name()));
  }
  return it->get<std::string>();
}

// An optional string field; "" when absent or null.
absl::StatusOr<std::string> OptionalString(const json& object, const std::string& field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return FieldError(field, absl::StrCat("expected a string, got ", it->type_name()));
  }
  return it->get<std::string>();
}

// A string or a number (written as JSON writes it: 42, 2.5). `required` decides if absence fails.
absl::StatusOr<std::string> StringOrNumber(const json& object, const std::string& field,
                                           bool required) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) {
    if (required) return FieldError(field, "missing");
    return std::string();
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return FieldError(field, absl::StrCat("expected a string or a number, got ", it->type_name()));
}

absl::StatusOr<std::string> IdOf(const json& object, const DatasetOptions& options,
                                 const std::string& fallback_id) {
  const std::string& field = Or(options.fields.id, kId);
  R1_ASSIGN_OR_RETURN(std::string id, StringOrNumber(object, field, /*required=*/false));
  return id.empty() ? fallback_id : id;
}

absl::StatusOr<std::vector<ChatMessage>> MessagesOf(const json& object, const std::string& field) {
  auto it = object.find(field);
  if (it == object.end()) return FieldError(field, "missing");
  if (!it->is_array()) {
    return FieldError(field, absl::StrCat("expected an array, got ", it->type_name()));
  }
  if (it->empty()) return FieldError(field, "empty conversation");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    std::string where = absl::StrCat(field, "[", i, "]");
    if (!m.is_object()) {
      return FieldError(where, absl::StrCat("expected an object, got ", m.type_name()));
    }
    absl::StatusOr<std::string> role = RequiredString(m, "role");
    if (!role.ok()) return FieldError(where, role.status().message());
    if (role->empty()) return FieldError(where + ".role", "empty");
    absl::StatusOr<std::string> content = RequiredString(m, "content");
    if (!content.ok()) return FieldError(where, content.status().message());
    out.push_back(ChatMessage{*std::move(role), *std::move(content)});
  }
  return out;
}

// A code record's tests as the code reward's reference (see datasets.h): from `configured` when
// set, else from "tests", "input_output", "test_code" and "test_list", whichever are present.
absl::StatusOr<std::string> CodeTestsOf(const json& object, const std::string& configured) {
  json ref = json::object();
  auto tests = object.find(configured.empty() ? "tests" : configured);
  if (tests != object.end() && !tests->is_null()) {
    const std::string& field = tests.key();
    json value = *tests;
    if (value.is_string()) {  // tests stored as a JSON string
      value = json::parse(tests->get<std::string>(), nullptr, /*allow_exceptions=*/false);
    }
    if (value.is_array()) {
      ref["tests"] = std::move(value);
    } else if (value.is_object()) {
      ref = std::move(value);
    } else {
      return FieldError(field, "expected tests: an array, an object or a JSON string of one");
    }
  }
  if (auto io = object.find("input_output"); configured.empty() && io != object.end()) {
    json parsed = io->is_string() ? json::parse(io->get<std::string>(), nullptr, false) : *io;
    if (!parsed.is_object() || !parsed.contains("inputs") || !parsed.contains("outputs")) {
      return FieldError("input_output", "expected a JSON object {\"inputs\", \"outputs\"}");
    }
    if (parsed.contains("fn_name")) {
      return FieldError("input_output", "call-based tests (\"fn_name\") are not supported");
    }
    ref["input_output"] = parsed.dump();
  }
  for (const char* key : {"test_code", "test_list"}) {
    auto code = object.find(key);
    if (!configured.empty() || code == object.end() || code->is_null()) continue;
    const bool strings =
        code->is_string() ||
        (code->is_array() &&
         std::all_of(code->begin(), code->end(), [](const json& c) { return c.is_string(); }));
    if (!strings) return FieldError(key, "expected a string or an array of strings");
    json& programs = ref["test_code"];
    if (programs.is_null()) programs = json::array();
    if (code->is_string()) {
      programs.push_back(*code);
    } else {
      for (const json& c : *code) programs.push_back(c);
    }
  }
  if (ref.empty()) {
    return FieldError(configured.empty() ? "tests" : configured,
                      configured.empty()
                          ? "missing (expected \"tests\", \"input_output\", \"test_code\" or "
                            "\"test_list\")"
                          : "missing");
  }
  return ref.dump();
}

std::string FileName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<DatasetFormat> ParseDatasetFormat(absl::string_view name) {
  if (name == "gsm8k") return DatasetFormat::kGsm8k;
  if (name == "prompt_answer") return DatasetFormat::kPromptAnswer;
  if (name == "chat") return DatasetFormat::kChat;
  if (name == "preference") return DatasetFormat::kPreference;
  if (name == "code") return DatasetFormat::kCode;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dataset format \"", name,
                   "\" (known: gsm8k, prompt_answer, chat, preference, code)"));
}

std::string DatasetFormatName(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::kGsm8k:
      return "gsm8k";
    case DatasetFormat::kPromptAnswer:
      return "prompt_answer";
    case DatasetFormat::kChat:
      return "chat";
    case DatasetFormat::kPreference:
      return "preference";
    case DatasetFormat::kCode:
      return "code";
  }
  return "unknown";
}

absl::StatusOr<std::string> ExtractGsm8kReference(absl::string_view answer) {
  size_t pos = answer.rfind("####");
  if (pos == absl::string_view::npos) {
    return absl::InvalidArgumentError("GSM8K answer has no \"#### N\" line");
  }
  std::string ref(absl::StripAsciiWhitespace(answer.substr(pos + 4)));
  std::string out;
  for (size_t i = 0; i < ref.size(); ++i) {
    bool separator = ref[i] == ',' && i > 0 && i + 1 < ref.size() &&
                     std::isdigit(static_cast<unsigned char>(ref[i - 1])) &&
                     std::isdigit(static_cast<unsigned char>(ref[i + 1]));
    if (!separator) out.push_back(ref[i]);
  }
  if (out.empty()) return absl::InvalidArgumentError("GSM8K answer has nothing after \"####\"");
  return out;
}

std::string StripCalculatorAnnotations(absl::string_view solution) {
  std::string out;
  size_t i = 0;
  while (i < solution.size()) {
    size_t open = solution.find("<<", i);
    if (open == absl::string_view::npos) break;
    size_t close = solution.find(">>", open + 2);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, solution.substr(i, open - i));
    i = close + 2;
  }
  absl::StrAppend(&out, solution.substr(i));
  return out;
}

absl::StatusOr<Example> ExampleFromJson(const json& object, DatasetFormat format,
                                        const DatasetOptions& options,
                                        const std::string& fallback_id) {
  const DatasetFields& f = options.fields;
  Example ex;
  R1_ASSIGN_OR_RETURN(ex.id, IdOf(object, options, fallback_id));
  R1_ASSIGN_OR_RETURN(ex.task, OptionalString(object, Or(f.task, kTask)));
  switch (format) {
    case DatasetFormat::kGsm8k: {
      R1_ASSIGN_OR_RETURN(ex.prompt, RequiredString(object, Or(f.prompt, kQuestion)));
      const std::string& answer_field = Or(f.answer, kAnswer);
      R1_ASSIGN_OR_RETURN(std::string answer, RequiredString(object, answer_field));
      absl::StatusOr<std::string> ref = ExtractGsm8kReference(answer);
      if (!ref.ok()) return FieldError(answer_field, ref.status().message());
      ex.reference = *std::move(ref);
      ex.solution = options.strip_calculator_annotations ? StripCalculatorAnnotations(answer)
                                                         : std::move(answer);
      if (ex.task.empty()) ex.task = "gsm8k";
      break;
    }
    case DatasetFormat::kPromptAnswer: {
      R1_ASSIGN_OR_RETURN(ex.prompt, RequiredString(object, Or(f.prompt, kPrompt)));
      R1_ASSIGN_OR_RETURN(ex.reference,
                          StringOrNumber(object, Or(f.answer, kAnswer), /*required=*/true));
      R1_ASSIGN_OR_RETURN(ex.solution, OptionalString(object, Or(f.solution, kSolution)));
      break;
    }
    case DatasetFormat::kChat: {
      R1_ASSIGN_OR_RETURN(ex.messages, MessagesOf(object, Or(f.messages, kMessages)));
      R1_ASSIGN_OR_RETURN(ex.reference,
                          StringOrNumber(object, Or(f.answer, kAnswer), /*required=*/false));
      size_t end = ex.messages.size();
      if (ex.messages.back().role == "assistant") {
        ex.solution = ex.messages.back().content;
        --end;
      }
      for (size_t i = end; i > 0; --i) {
        if (ex.messages[i - 1].role == "user") {
          ex.prompt = ex.messages[i - 1].content;
          break;
        }
      }
      break;
    }
    case DatasetFormat::kCode: {
      // The prompt: the configured field, else "prompt", else "question" (APPS, TACO).
      const std::string& prompt_field =
          !f.prompt.empty()
              ? f.prompt
              : (object.contains(kPrompt) || !object.contains(kQuestion) ? kPrompt : kQuestion);
      R1_ASSIGN_OR_RETURN(ex.prompt, RequiredString(object, prompt_field));
      R1_ASSIGN_OR_RETURN(ex.reference, CodeTestsOf(object, f.answer));
      R1_ASSIGN_OR_RETURN(ex.solution, OptionalString(object, Or(f.solution, kSolution)));
      if (ex.task.empty()) ex.task = "code";
      break;
    }
    case DatasetFormat::kPreference:
      return absl::InvalidArgumentError(
          "preference datasets hold PreferencePair records; use ReadPreferencePairs");
  }
  return ex;
}

absl::StatusOr<PreferencePair> PreferencePairFromJson(const json& object,
                                                      const DatasetOptions& options,
                                                      const std::string& fallback_id) {
  const DatasetFields& f = options.fields;
  PreferencePair pair;
  R1_ASSIGN_OR_RETURN(pair.id, IdOf(object, options, fallback_id));
  R1_ASSIGN_OR_RETURN(pair.prompt, RequiredString(object, Or(f.prompt, kPrompt)));
  R1_ASSIGN_OR_RETURN(pair.chosen, RequiredString(object, Or(f.chosen, kChosen)));
  R1_ASSIGN_OR_RETURN(pair.rejected, RequiredString(object, Or(f.rejected, kRejected)));
  return pair;
}

absl::StatusOr<std::vector<Example>> ReadExamples(const std::string& path, DatasetFormat format,
                                                  const DatasetOptions& options,
                                                  JsonlReadStats* stats) {
  if (format == DatasetFormat::kPreference) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": preference datasets are read with ReadPreferencePairs"));
  }
  R1_ASSIGN_OR_RETURN(std::unique_ptr<JsonlReader> reader, JsonlReader::Open(path, options.jsonl));
  const std::string name = FileName(path);
  std::vector<Example> out;
  json object;
  while (options.max_examples <= 0 || static_cast<int64_t>(out.size()) < options.max_examples) {
    R1_ASSIGN_OR_RETURN(bool more, reader->Next(&object));
    if (!more) break;
    absl::StatusOr<Example> ex =
        ExampleFromJson(object, format, options, absl::StrCat(name, ":", reader->line_number()));
    if (ex.ok()) {
      out.push_back(*std::move(ex));
    } else {
      R1_RETURN_IF_ERROR(reader->Reject(ex.status()));
    }
  }
  if (stats != nullptr) *stats = reader->stats();
  return out;
}

absl::StatusOr<std::vector<Example>> ReadGsm8k(const std::string& path,
                                               const DatasetOptions& options,
                                               JsonlReadStats* stats) {
  return ReadExamples(path, DatasetFormat::kGsm8k, options, stats);
}

absl::StatusOr<std::vector<Example>> ReadPromptAnswer(const std::string& path,
                                                      const DatasetOptions& options,
                                                      JsonlReadStats* stats) {
  return ReadExamples(path, DatasetFormat::kPromptAnswer, options, stats);
}

absl::StatusOr<std::vector<Example>> ReadChat(const std::string& path,
                                              const DatasetOptions& options,
                                              JsonlReadStats* stats) {
  return ReadExamples(path, DatasetFormat::kChat, options, stats);
}

absl::StatusOr<std::vector<PreferencePair>> ReadPreferencePairs(const std::string& path,
                                                                const DatasetOptions& options,
                                                                JsonlReadStats* stats) {
  R1_ASSIGN_OR_RETURN(std::unique_ptr<JsonlReader> reader, JsonlReader::Open(path, options.jsonl));
  const std::string name = FileName(path);
  std::vector<PreferencePair> out;
  json object;
  while (options.max_examples <= 0 || static_cast<int64_t>(out.size()) < options.max_examples) {
    R1_ASSIGN_OR_RETURN(bool more, reader->Next(&object));
    if (!more) break;
    absl::StatusOr<PreferencePair> pair =
        PreferencePairFromJson(object, options, absl::StrCat(name, ":", reader->line_number()));
    if (pair.ok()) {
      out.push_back(*std::move(pair));
    } else {
      R1_RETURN_IF_ERROR(reader->Reject(pair.status()));
    }
  }
  if (stats != nullptr) *stats = reader->stats();
  return out;
}

json ExampleToJson(const Example& example) {
  json out = json::object();
  if (!example.id.empty()) out["id"] = example.id;
  if (!example.task.empty()) out["task"] = example.task;
  if (!example.prompt.empty() || example.messages.empty()) out["prompt"] = example.prompt;
  out["answer"] = example.reference;
  if (!example.solution.empty()) out["solution"] = example.solution;
  if (!example.messages.empty()) {
    json messages = json::array();
    for (const ChatMessage& m : example.messages) {
      messages.push_back(json{{"role", m.role}, {"content", m.content}});
    }
    out["messages"] = std::move(messages);
  }
  return out;
}

json PreferencePairToJson(const PreferencePair& pair) {
  json out = json::object();
  if (!pair.id.empty()) out["id"] = pair.id;
  out["prompt"] = pair.prompt;
  out["chosen"] = pair.chosen;
  out["rejected"] = pair.rejected;
  return out;
}

}  // namespace r1
