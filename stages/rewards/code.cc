// The code reward over the sandbox: extraction of the code block, the tests' formats, compiling,
// running the tests on a bounded pool of threads, and grading.
#include "stages/rewards/code.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "base/subprocess.h"
#include "sandbox/sandbox.h"
#include "stages/rewards/reward_params.h"

namespace r1 {
namespace {

constexpr size_t kDetailChars = 300;  // of output or error text kept in a case's detail

std::string Shorten(absl::string_view text) {
  if (text.size() <= kDetailChars) return std::string(text);
  return absl::StrCat(text.substr(0, kDetailChars), "...");
}

// The last non-empty line of `text` (an error message's usual place).
std::string LastLine(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(
      text, '\n', [](absl::string_view l) { return !absl::StripAsciiWhitespace(l).empty(); });
  return lines.empty() ? "" : Shorten(absl::StripAsciiWhitespace(lines.back()));
}

absl::StatusOr<std::vector<CodeTests::Case>> ParseCases(const nlohmann::json& tests) {
  if (!tests.is_array())
    return absl::InvalidArgumentError("code tests: \"tests\" must be an array");
  std::vector<CodeTests::Case> cases;
  for (size_t i = 0; i < tests.size(); ++i) {
    const nlohmann::json& t = tests[i];
    auto input = t.is_object() ? t.find("input") : t.end();
    auto output = t.is_object() ? t.find("output") : t.end();
    if (!t.is_object() || input == t.end() || output == t.end() || !input->is_string() ||
        !output->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "code tests: test ", i, " must be {\"input\": string, \"output\": string}, got ",
          Shorten(t.dump())));
    }
    cases.push_back({input->get<std::string>(), output->get<std::string>()});
  }
  return cases;
}

// APPS / TACO: {"inputs": [...], "outputs": [...]} (stdin/stdout strings; "fn_name" marks
// call-based tests, which are not supported).
absl::StatusOr<std::vector<CodeTests::Case>> ParseInputsOutputs(const nlohmann::json& io) {
  if (io.contains("fn_name")) {
    return absl::InvalidArgumentError(
        "code tests: call-based tests (\"fn_name\") are not supported; use stdin/stdout tests");
  }
  const nlohmann::json& inputs = io["inputs"];
  const nlohmann::json& outputs = io.contains("outputs") ? io["outputs"] : nlohmann::json();
  if (!inputs.is_array() || !outputs.is_array() || inputs.size() != outputs.size()) {
    return absl::InvalidArgumentError(
        "code tests: \"inputs\" and \"outputs\" must be arrays of the same length");
  }
  std::vector<CodeTests::Case> cases;
  for (size_t i = 0; i < inputs.size(); ++i) {
    // Some TACO outputs are lists of lines.
    auto text = [](const nlohmann::json& v, std::string* out) {
      if (v.is_string()) {
        *out = v.get<std::string>();
        return true;
      }
      if (!v.is_array()) return false;
      for (const nlohmann::json& line : v) {
        if (!line.is_string()) return false;
        absl::StrAppend(out, line.get<std::string>(), "\n");
      }
      return true;
    };
    CodeTests::Case c;
    if (!text(inputs[i], &c.input) || !text(outputs[i], &c.output)) {
      return absl::InvalidArgumentError(
          absl::StrCat("code tests: inputs[", i, "] and outputs[", i, "] must be strings"));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

SandboxLimits RunLimits(const CodeRewardOptions& o) {
  SandboxLimits limits;
  limits.wall_timeout = absl::Seconds(o.timeout_s);
  limits.cpu_seconds = static_cast<int64_t>(std::ceil(o.timeout_s));
  limits.memory_bytes = o.memory_mb << 20;
  limits.max_output_bytes = o.max_output_bytes;
  limits.processes = o.max_processes;
  return limits;
}

SandboxLimits CompileLimits(const CodeRewardOptions& o) {
  SandboxLimits limits = RunLimits(o);
  limits.wall_timeout = absl::Seconds(o.compile_timeout_s);
  limits.cpu_seconds = static_cast<int64_t>(std::ceil(o.compile_timeout_s));
  limits.memory_bytes = std::max<int64_t>(o.memory_mb, 2048) << 20;
  limits.file_bytes = 256ll << 20;  // object files and the binary
  limits.disk_bytes = 512ll << 20;
  limits.max_output_bytes = std::max<int64_t>(o.max_output_bytes, 64 << 20);  // collects a.out
  return limits;
}

// A finished run as a test outcome. `expected` is null for test programs (passing = exit 0).
CaseResult Classify(const SandboxResult& r, const std::string* expected) {
  CaseResult c;
  c.seconds = absl::ToDoubleSeconds(r.wall_time);
  switch (r.end) {
    case SandboxResult::End::kCpuLimit:
    case SandboxResult::End::kWallTimeout:
      c.outcome = CaseOutcome::kTimeout;
      c.detail = r.Describe();
      return c;
    case SandboxResult::End::kSandboxError:
      c.outcome = CaseOutcome::kSandboxError;
      c.detail = r.Describe();
      return c;
    case SandboxResult::End::kOutputLimit:
    case SandboxResult::End::kSignaled:
      c.outcome = CaseOutcome::kRuntimeError;
      c.detail = r.Describe();
      return c;
    case SandboxResult::End::kExited:
      break;
  }
  if (r.exit_code != 0) {
    const std::string error = LastLine(r.stderr_text);
    const bool assertion = expected == nullptr && absl::StartsWith(error, "AssertionError");
    c.outcome = assertion ? CaseOutcome::kWrongAnswer : CaseOutcome::kRuntimeError;
    c.detail = error.empty() ? r.Describe() : absl::StrCat(r.Describe(), ": ", error);
    return c;
  }
  if (expected == nullptr || OutputsMatch(r.stdout_text, *expected)) {
    c.outcome = CaseOutcome::kPassed;
    return c;
  }
  c.outcome = CaseOutcome::kWrongAnswer;
  c.detail =
      absl::StrCat("got \"", Shorten(r.stdout_text), "\", expected \"", Shorten(*expected), "\"");
  return c;
}

}  // namespace

absl::StatusOr<CodeTests> ParseCodeTests(absl::string_view reference) {
  nlohmann::json j = nlohmann::json::parse(reference, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(
        absl::StrCat("code tests: the reference is not JSON tests: \"", Shorten(reference), "\""));
  }
  CodeTests tests;
  if (j.is_array()) {
    R1_ASSIGN_OR_RETURN(tests.cases, ParseCases(j));
  } else if (j.is_object()) {
    if (auto io = j.find("input_output"); io != j.end()) {
      if (!io->is_string()) {
        return absl::InvalidArgumentError("code tests: \"input_output\" must be a JSON string");
      }
      nlohmann::json inner =
          nlohmann::json::parse(io->get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (!inner.is_object()) {
        return absl::InvalidArgumentError(
            "code tests: \"input_output\" must hold a JSON object {\"inputs\", \"outputs\"}");
      }
      R1_ASSIGN_OR_RETURN(tests.cases, ParseInputsOutputs(inner));
    } else if (j.contains("inputs")) {
      R1_ASSIGN_OR_RETURN(tests.cases, ParseInputsOutputs(j));
    } else if (auto t = j.find("tests"); t != j.end()) {
      R1_ASSIGN_OR_RETURN(tests.cases, ParseCases(*t));
    }
    if (auto code = j.find("test_code"); code != j.end()) {
      if (code->is_string()) {
        tests.test_programs.push_back(code->get<std::string>());
      } else if (code->is_array() &&
                 std::all_of(code->begin(), code->end(), [](auto& c) { return c.is_string(); })) {
        for (const nlohmann::json& c : *code) tests.test_programs.push_back(c.get<std::string>());
      } else {
        return absl::InvalidArgumentError(
            "code tests: \"test_code\" must be a string or an array of strings");
      }
    }
  } else {
    return absl::InvalidArgumentError("code tests: the reference must be a JSON array or object");
  }
  if (tests.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "code tests: no tests in the reference (expected \"tests\", \"inputs\"/\"outputs\", "
        "\"input_output\" or \"test_code\"): \"",
        Shorten(reference), "\""));
  }
  return tests;
}

std::optional<CodeBlock> ExtractLastCodeBlock(absl::string_view response, CodeLanguage untagged) {
  size_t think = response.rfind("</think>");
  if (think != absl::string_view::npos) response.remove_prefix(think + 8);
  // A fence is "```" anywhere (models write "<answer>```python" and "```</answer>" too): the
  // info word runs to the end of its line, the code to the next "```".
  std::optional<CodeBlock> last;
  size_t pos = 0;
  while (true) {
    const size_t open = response.find("```", pos);
    if (open == absl::string_view::npos) break;
    const size_t line_end = response.find('\n', open + 3);
    if (line_end == absl::string_view::npos) break;
    absl::string_view info = response.substr(open + 3, line_end - open - 3);
    if (const size_t inline_close = info.find("```"); inline_close != absl::string_view::npos) {
      pos = open + 3 + inline_close + 3;  // ```inline code``` on one line
      continue;
    }
    const size_t close = response.find("```", line_end + 1);
    if (close == absl::string_view::npos) break;  // not closed: truncated, does not count
    CodeBlock block;
    info = absl::StripAsciiWhitespace(absl::StripPrefix(absl::StripAsciiWhitespace(info), "{"));
    block.tag = absl::AsciiStrToLower(info.substr(0, info.find_first_of(" }")));
    absl::string_view code = response.substr(line_end + 1, close - line_end - 1);
    // Drop the indentation before an indented closing fence; end with a newline.
    const size_t last_newline = code.rfind('\n');
    absl::string_view tail =
        last_newline == absl::string_view::npos ? code : code.substr(last_newline + 1);
    if (absl::StripAsciiWhitespace(tail).empty()) code.remove_suffix(tail.size());
    block.code = std::string(code);
    if (!block.code.empty() && block.code.back() != '\n') block.code += '\n';
    const std::string& tag = block.tag;
    if (tag.empty()) {
      block.language = untagged;
    } else if (tag == "python" || tag == "py" || tag == "python3" || tag == "py3") {
      block.language = CodeLanguage::kPython;
    } else if (tag == "cpp" || tag == "c++" || tag == "cxx" || tag == "cc") {
      block.language = CodeLanguage::kCpp;
    }
    last = std::move(block);
    pos = close + 3;
  }
  return last;
}

bool OutputsMatch(absl::string_view actual, absl::string_view expected) {
  auto normalise = [](absl::string_view text) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      lines.emplace_back(absl::StripTrailingAsciiWhitespace(line));
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  };
  return normalise(actual) == normalise(expected);
}

const char* CaseOutcomeName(CaseOutcome outcome) {
  switch (outcome) {
    case CaseOutcome::kPassed:
      return "passed";
    case CaseOutcome::kWrongAnswer:
      return "wrong_answer";
    case CaseOutcome::kTimeout:
      return "timeout";
    case CaseOutcome::kRuntimeError:
      return "runtime_error";
    case CaseOutcome::kCompileError:
      return "compile_error";
    case CaseOutcome::kSandboxError:
      return "sandbox_error";
  }
  return "unknown";
}

struct CodeGrader::Impl {
  CodeRewardOptions options;
  std::string python;  // resolved
  std::string cxx;     // resolved; empty when not found
  std::unique_ptr<Sandbox> sandbox;

  // Compiles the solution: Python is checked for syntax (nothing to keep); C++ yields ./solution.
  // The files a test run starts from, or none with `grade->compile_error` set; an error when the
  // sandbox failed.
  absl::StatusOr<std::vector<SandboxFile>> Compile(const CodeBlock& block, CodeGrade* grade) const {
    SandboxRequest request;
    if (*block.language == CodeLanguage::kPython) {
      request.files = {{"solution.py", block.code, false}};
      request.argv = {python, "-I", "-c",
                      "import sys\ncompile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')",
                      "solution.py"};
    } else {
      if (cxx.empty()) {
        grade->compile_error = absl::StrCat("no C++ compiler (", options.cxx, " not found)");
        return std::vector<SandboxFile>{};
      }
      request.files = {{"solution.cpp", block.code, false}};
      request.argv = {cxx, "-std=c++17", "-O2", "-pipe", "-o", "solution", "solution.cpp"};
      request.collect = {"solution"};
    }
    R1_ASSIGN_OR_RETURN(SandboxResult r, sandbox->Run(request, CompileLimits(options)));
    if (r.end == SandboxResult::End::kSandboxError) {
      return absl::InternalError(absl::StrCat("compiling: ", r.error));
    }
    if (!r.ok()) {
      grade->compile_error =
          absl::StrCat(r.Describe(), r.stderr_text.empty() ? "" : ": ", Shorten(r.stderr_text));
      return std::vector<SandboxFile>{};
    }
    if (*block.language == CodeLanguage::kPython) return request.files;
    if (r.collected.empty()) {
      grade->compile_error = "the compiler wrote no binary";
      return std::vector<SandboxFile>{};
    }
    r.collected[0].executable = true;
    return r.collected;
  }

  // Runs test `index` (cases first, then test programs) from the compiled `files`.
  CaseResult RunTest(const CodeBlock& block, const std::vector<SandboxFile>& files,
                     const CodeTests& tests, size_t index) const {
    SandboxRequest request;
    request.files = files;
    const std::string* expected = nullptr;
    if (index < tests.cases.size()) {
      request.stdin_text = tests.cases[index].input;
      expected = &tests.cases[index].output;
    } else {
      // A test program: the solution with the asserts appended (Python only).
      const std::string& test = tests.test_programs[index - tests.cases.size()];
      if (*block.language != CodeLanguage::kPython) {
        return CaseResult{CaseOutcome::kCompileError,
                          "assert-style tests (test_code) need a Python solution", 0};
      }
      request.files = {{"solution.py", absl::StrCat(block.code, "\n\n", test, "\n"), false}};
    }
    if (*block.language == CodeLanguage::kPython) {
      request.argv = {python, "-I", "solution.py"};
    } else {
      request.argv = {"./solution"};
    }
    absl::StatusOr<SandboxResult> r = sandbox->Run(request);
    if (!r.ok())
      return CaseResult{CaseOutcome::kSandboxError, std::string(r.status().message()), 0};
    return Classify(*r, expected);
  }
};

CodeGrader::CodeGrader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CodeGrader::~CodeGrader() = default;

std::string CodeGrader::Isolation() const { return impl_->sandbox->isolation().ToString(); }

absl::StatusOr<std::unique_ptr<CodeGrader>> CodeGrader::Create(const CodeRewardOptions& options) {
  auto positive = [](absl::string_view key, double v) -> absl::Status {
    if (!(v > 0) || !std::isfinite(v)) {
      return absl::InvalidArgumentError(absl::StrCat("code: ", key, " must be > 0, got ", v));
    }
    return absl::OkStatus();
  };
  R1_RETURN_IF_ERROR(positive("timeout_s", options.timeout_s));
  R1_RETURN_IF_ERROR(positive("compile_timeout_s", options.compile_timeout_s));
  R1_RETURN_IF_ERROR(positive("max_output_bytes", static_cast<double>(options.max_output_bytes)));
  R1_RETURN_IF_ERROR(positive("max_processes", options.max_processes));
  R1_RETURN_IF_ERROR(positive("max_parallel", options.max_parallel));
  if (options.memory_mb < 16 || options.memory_mb > (1ll << 30)) {
    return absl::InvalidArgumentError(
        absl::StrCat("code: memory_mb must be in [16, 2^30], got ", options.memory_mb));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.python.empty()) {
    R1_ASSIGN_OR_RETURN(impl->python, FindInPath(options.python));
  } else if (access("/usr/bin/python3", X_OK) == 0) {
    impl->python = "/usr/bin/python3";
  } else {
    absl::StatusOr<std::string> python = FindInPath("python3");
    if (!python.ok()) {
      return absl::NotFoundError(
          "code: no python3 (neither /usr/bin/python3 nor in PATH); set "
          "the param python");
    }
    impl->python = *python;
  }
  if (absl::StatusOr<std::string> cxx = FindInPath(options.cxx); cxx.ok()) impl->cxx = *cxx;

  SandboxOptions sandbox_options;
  sandbox_options.helper_path = options.sandbox_exec;
  sandbox_options.max_parallel = options.max_parallel;
  sandbox_options.allow_unisolated = options.allow_unisolated;
  sandbox_options.uid_base = options.uid_base;
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create(RunLimits(options), sandbox_options);
  if (!sandbox.ok()) {
    return absl::Status(sandbox.status().code(),
                        absl::StrCat("code: ", sandbox.status().message()));
  }
  impl->sandbox = *std::move(sandbox);
  // The interpreter must run as the sandbox runs it (e.g. not a shim under an unreadable home).
  SandboxRequest check{{impl->python, "-I", "-c", "print('ok')"}, {}, "", {}};
  R1_ASSIGN_OR_RETURN(SandboxResult r, impl->sandbox->Run(check));
  if (!r.ok() || r.stdout_text != "ok\n") {
    return absl::FailedPreconditionError(absl::StrCat(
        "code: the Python interpreter ", impl->python, " does not run in the sandbox (",
        r.Describe(), r.stderr_text.empty() ? "" : ": ", LastLine(r.stderr_text),
        "); set the param python to an interpreter every user may run, e.g. /usr/bin/python3"));
  }
  return std::unique_ptr<CodeGrader>(new CodeGrader(std::move(impl)));
}

absl::StatusOr<CodeGrade> CodeGrader::Grade(absl::string_view response,
                                            const CodeTests& tests) const {
  CodeGrade grade;
  grade.block = ExtractLastCodeBlock(response, impl_->options.untagged);
  const size_t n = tests.size();
  auto all = [&](CaseOutcome outcome, const std::string& detail) {
    grade.cases.assign(n, CaseResult{outcome, detail, 0});
    grade.counts[static_cast<int>(outcome)] = static_cast<int64_t>(n);
    return grade;
  };
  if (!grade.block) return grade;  // no code: 0, no cases run
  if (!grade.block->language) {
    grade.compile_error = absl::StrCat("cannot run a \"", grade.block->tag, "\" code block");
    return all(CaseOutcome::kCompileError, grade.compile_error);
  }
  absl::StatusOr<std::vector<SandboxFile>> files = impl_->Compile(*grade.block, &grade);
  if (!files.ok()) return all(CaseOutcome::kSandboxError, std::string(files.status().message()));
  if (!grade.compile_error.empty()) return all(CaseOutcome::kCompileError, grade.compile_error);

  // Tests on a bounded pool: this thread and up to max_parallel - 1 more (the sandbox bounds the
  // runs of all concurrent Grade calls together).
  grade.cases.resize(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      grade.cases[i] = impl_->RunTest(*grade.block, *files, tests, i);
    }
  };
  std::vector<std::thread> helpers;
  const size_t threads = std::min<size_t>(n, static_cast<size_t>(impl_->options.max_parallel));
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();

  int64_t passed = 0;
  for (const CaseResult& c : grade.cases) {
    ++grade.counts[static_cast<int>(c.outcome)];
    if (c.outcome == CaseOutcome::kPassed) ++passed;
  }
  if (impl_->options.all_or_nothing) {
    grade.value = passed == static_cast<int64_t>(n) ? 1.0 : 0.0;
  } else {
    grade.value = static_cast<double>(passed) / static_cast<double>(n);
  }
  return grade;
}

namespace {

class CodeReward : public RuleReward {
 public:
  explicit CodeReward(std::unique_ptr<CodeGrader> grader) : grader_(std::move(grader)) {}

  absl::StatusOr<RewardValue> Compute(const RewardInput& input) const override {
    R1_ASSIGN_OR_RETURN(CodeTests tests, ParseCodeTests(input.reference));
    R1_ASSIGN_OR_RETURN(CodeGrade grade, grader_->Grade(input.response, tests));
    RewardValue value;
    value.value = grade.value;
    value.counts.emplace_back("tests", static_cast<double>(tests.size()));
    for (int o = 0; o < kCaseOutcomeCount; ++o) {
      value.counts.emplace_back(CaseOutcomeName(static_cast<CaseOutcome>(o)),
                                static_cast<double>(grade.counts[o]));
    }
    value.counts.emplace_back("no_code", grade.block ? 0.0 : 1.0);
    value.details = nlohmann::json::object();
    if (grade.block) {
      value.extracted = grade.block->code;
      value.details["language"] = !grade.block->language                         ? grade.block->tag
                                  : *grade.block->language == CodeLanguage::kCpp ? "cpp"
                                                                                 : "python";
    } else {
      value.details["language"] = nullptr;
    }
    if (!grade.compile_error.empty()) value.details["compile_error"] = grade.compile_error;
    nlohmann::json cases = nlohmann::json::array();
    for (const CaseResult& c : grade.cases) {
      nlohmann::json item = {{"outcome", CaseOutcomeName(c.outcome)}};
      if (!c.detail.empty()) item["detail"] = c.detail;
      item["seconds"] = std::round(c.seconds * 1000) / 1000;
      cases.push_back(std::move(item));
    }
    value.details["cases"] = std::move(cases);
    return value;
  }

 private:
  std::unique_ptr<CodeGrader> grader_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RuleReward>> MakeCodeReward(const nlohmann::json& params) {
  R1_ASSIGN_OR_RETURN(
      RewardParams p,
      RewardParams::Parse("code", params,
                          {"mode", "language", "python", "cxx", "timeout_s", "compile_timeout_s",
                           "memory_mb", "max_output_bytes", "max_processes", "max_parallel",
                           "allow_unisolated", "uid_base", "sandbox_exec"}));
  CodeRewardOptions o;
  R1_ASSIGN_OR_RETURN(std::string mode, p.String("mode", "fraction"));
  if (mode != "fraction" && mode != "all") {
    return absl::InvalidArgumentError(
        absl::StrCat("code: param \"mode\" must be \"fraction\" or \"all\", got \"", mode, "\""));
  }
  o.all_or_nothing = mode == "all";
  R1_ASSIGN_OR_RETURN(std::string language, p.String("language", "python"));
  if (language != "python" && language != "cpp") {
    return absl::InvalidArgumentError(absl::StrCat(
        "code: param \"language\" must be \"python\" or \"cpp\", got \"", language, "\""));
  }
  o.untagged = language == "cpp" ? CodeLanguage::kCpp : CodeLanguage::kPython;
  R1_ASSIGN_OR_RETURN(o.python, p.String("python", ""));
  R1_ASSIGN_OR_RETURN(o.cxx, p.String("cxx", o.cxx));
  R1_ASSIGN_OR_RETURN(o.timeout_s, p.Double("timeout_s", o.timeout_s));
  R1_ASSIGN_OR_RETURN(o.compile_timeout_s, p.Double("compile_timeout_s", o.compile_timeout_s));
  R1_ASSIGN_OR_RETURN(o.memory_mb, p.Int("memory_mb", o.memory_mb));
  R1_ASSIGN_OR_RETURN(o.max_output_bytes, p.Int("max_output_bytes", o.max_output_bytes));
  R1_ASSIGN_OR_RETURN(o.max_processes, p.Int("max_processes", o.max_processes));
  R1_ASSIGN_OR_RETURN(int64_t parallel, p.Int("max_parallel", o.max_parallel));
  if (parallel < 1 || parallel > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("code: param \"max_parallel\" must be in [1, 1024], got ", parallel));
  }
  o.max_parallel = static_cast<int32_t>(parallel);
  R1_ASSIGN_OR_RETURN(o.allow_unisolated, p.Bool("allow_unisolated", false));
  R1_ASSIGN_OR_RETURN(o.uid_base, p.Int("uid_base", o.uid_base));
  R1_ASSIGN_OR_RETURN(o.sandbox_exec, p.String("sandbox_exec", ""));
  R1_ASSIGN_OR_RETURN(std::unique_ptr<CodeGrader> grader, CodeGrader::Create(o));
  return std::make_unique<CodeReward>(std::move(grader));
}

}  // namespace r1
