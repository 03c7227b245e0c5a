// Fuzzes the JSONL dataset readers (pipeline/datasets.h, pipeline/jsonl.h) through a real file, as
// users' datasets arrive. The first byte picks the format (gsm8k, prompt_answer, chat, preference),
// whether bad lines are skipped, and GSM8K calculator-annotation stripping; the rest is the file.
// Every example read must convert back to a JSONL line.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/string_view.h"
#include "base/file_util.h"
#include "pipeline/datasets.h"
#include "pipeline/jsonl.h"

namespace {

// One file per fuzzing process, rewritten for each input (in /dev/shm when there is one).
const std::string& DatasetPath() {
  static const std::string path = [] {
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/r1_datasets_fuzzer_" + std::to_string(::getpid()) + ".jsonl";
  }();
  return path;
}

void MustConvert(const nlohmann::json& object) {
  if (!r1::ToJsonlLine(object).ok()) {
    std::fprintf(stderr, "a record read back does not convert to a JSONL line: %s\n",
                 object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const absl::string_view contents(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!r1::WriteFileAtomic(DatasetPath(), contents).ok()) std::abort();

  r1::DatasetOptions options;
  options.jsonl.skip_bad_lines = (selector & 4) != 0;
  options.strip_calculator_annotations = (selector & 8) != 0;
  options.max_examples = (selector & 16) != 0 ? 2 : 0;
  r1::JsonlReadStats stats;
  const int format = selector & 3;
  if (format == 3) {
    auto pairs = r1::ReadPreferencePairs(DatasetPath(), options, &stats);
    if (pairs.ok()) {
      for (const r1::PreferencePair& pair : *pairs) MustConvert(r1::PreferencePairToJson(pair));
    }
  } else {
    auto examples =
        r1::ReadExamples(DatasetPath(), static_cast<r1::DatasetFormat>(format), options, &stats);
    if (examples.ok()) {
      for (const r1::Example& example : *examples) MustConvert(r1::ExampleToJson(example));
    }
  }
  (void)stats.Summary();
  return 0;
}
