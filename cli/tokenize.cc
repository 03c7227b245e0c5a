// `r1 tokenize --tokenizer SPEC [--decode]`: JSON lines on stdin, token ids (or, with --decode,
// text) on stdout, one output line per input line. For checking what a model sees.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/command.h"
#include "model/tokenizers/tokenizer.h"

namespace r1::cli {
namespace {

constexpr char kUsage[] =
    R"(usage: r1 tokenize --tokenizer SPEC [--decode] < IN.jsonl > OUT.jsonl

Encodes text to token ids: reads JSON lines {"text": "..."} on stdin and writes {"ids": [...]}
for each. Special-token texts ("<think>", "<|im_end|>") become their single ids. Blank lines are
skipped. No BOS/EOS is added.

  --tokenizer SPEC   "byte", a tokenizer.json file, or a directory holding tokenizer.json or
                     r1_tokenizer.json (a model directory)
  --decode           the other way: reads {"ids": [...]} and writes {"text": "..."} (invalid
                     UTF-8 from a cut multi-byte character becomes U+FFFD)

Exit status: 0 all lines done; 1 a bad line (stderr names its line number; the lines before it
were written) or a tokenizer that does not load; 2 usage.)";

using json = nlohmann::json;

// The output line for one input line.
absl::StatusOr<std::string> ProcessLine(const Tokenizer& tok, const std::string& line,
                                        bool decode) {
  json in;
  try {
    in = json::parse(line);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", e.what()));
  }
  if (!in.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  if (decode) {
    auto it = in.find("ids");
    if (it == in.end() || !it->is_array()) {
      return absl::InvalidArgumentError("expected {\"ids\": [...]}: no \"ids\" array");
    }
    std::vector<int32_t> ids;
    ids.reserve(it->size());
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
        return absl::InvalidArgumentError(
            absl::StrCat("ids[", i, "]: expected an integer token id, got ", v.dump()));
      }
      ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    absl::StatusOr<std::string> text = tok.Decode(ids);
    if (!text.ok()) return text.status();
    return json{{"text", ToValidUtf8(*text)}}.dump();
  }
  auto it = in.find("text");
  if (it == in.end() || !it->is_string()) {
    return absl::InvalidArgumentError("expected {\"text\": \"...\"}: no \"text\" string");
  }
  absl::StatusOr<std::vector<int32_t>> ids = tok.Encode(it->get_ref<const std::string&>());
  if (!ids.ok()) return ids.status();
  return json{{"ids", *ids}}.dump();
}

int RunTokenize(const std::vector<std::string>& argv) {
  ArgSpec spec;
  spec.value_options = {"tokenizer"};
  spec.flag_options = {"decode"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(argv, spec);
  if (!args.ok()) {
    std::cerr << "r1 tokenize: " << args.status().message() << "\n" << kUsage << "\n";
    return 2;
  }
  if (!args->positional().empty()) {
    std::cerr << "r1 tokenize: unexpected argument \"" << args->positional()[0] << "\"\n"
              << kUsage << "\n";
    return 2;
  }
  const std::optional<std::string> spec_text = args->Get("tokenizer");
  if (!spec_text.has_value()) {
    std::cerr << "r1 tokenize: --tokenizer is required\n" << kUsage << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(*spec_text);
  if (!tok.ok()) {
    std::cerr << "r1 tokenize: " << tok.status().message() << "\n";
    return 1;
  }
  const bool decode = args->Flag("decode");

  std::ios::sync_with_stdio(false);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<std::string> out = ProcessLine(**tok, line, decode);
    if (!out.ok()) {
      std::cout.flush();
      std::cerr << "r1 tokenize: stdin line " << line_number << ": " << out.status().message()
                << "\n";
      return 1;
    }
    std::cout << *out << '\n';
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "r1 tokenize: writing stdout failed\n";
    return 1;
  }
  return 0;
}

}  // namespace

R1_REGISTER_COMMAND(Command{"tokenize", "text <-> token ids with a tokenizer (JSON lines)", kUsage,
                            RunTokenize});

}  // namespace r1::cli
