// metrics.jsonl / samples.jsonl writers (see metrics.h).
#include "pipeline/metrics.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"

namespace r1 {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace

absl::Status JsonlAppender::Append(const nlohmann::json& record) {
  if (!record.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": a JSONL record must be an object, got ", record.type_name()));
  }
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  if (!dir_made_) {
    const size_t slash = path_.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : path_.substr(0, slash);
    if (!parent.empty()) R1_RETURN_IF_ERROR(MakeDirs(parent));
    dir_made_ = true;
  }
  return AppendFileSynced(path_, line);
}

MetricsWriter::MetricsWriter(std::string path, std::string tensorboard_dir)
    : out_(std::move(path)) {
  if (!tensorboard_dir.empty()) {
    tensorboard_ = std::make_unique<TensorBoardWriter>(std::move(tensorboard_dir));
  }
}

absl::Status MetricsWriter::Write(int64_t step, const std::map<std::string, double>& values) {
  nlohmann::json record = {{"step", step}, {"time_ms", NowMs()}};
  for (const auto& [key, value] : values) {
    if (key == "step" || key == "time_ms") {
      return absl::InvalidArgumentError(
          absl::StrCat(out_.path(), ": metric name \"", key, "\" is reserved"));
    }
    record[key] = Number(value);
  }
  R1_RETURN_IF_ERROR(out_.Append(record));
  if (tensorboard_ != nullptr) return tensorboard_->Write(step, values);
  return absl::OkStatus();
}

absl::Status SamplesWriter::Write(int64_t step, const std::vector<RolloutSample>& samples) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : samples) {
    nlohmann::json terms = nlohmann::json::object();
    for (const auto& [name, value] : s.reward_terms) terms[name] = Number(value);
    list.push_back({{"prompt", s.prompt},
                    {"response", s.response},
                    {"reward", Number(s.reward)},
                    {"reward_terms", terms}});
  }
  return out_.Append({{"step", step}, {"time_ms", NowMs()}, {"samples", list}});
}

absl::StatusOr<std::vector<nlohmann::json>> ReadJsonlRecords(const std::string& path) {
  std::vector<nlohmann::json> records;
  if (!PathExists(path)) return records;
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // torn tail
    nlohmann::json j = nlohmann::json::parse(text.begin() + static_cast<long>(pos),
                                             text.begin() + static_cast<long>(nl), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": not a JSON object"));
    }
    records.push_back(std::move(j));
    pos = nl + 1;
  }
  return records;
}

absl::StatusOr<int64_t> TruncateJsonlAfterStep(const std::string& path, int64_t step) {
  if (!PathExists(path)) return 0;
  R1_ASSIGN_OR_RETURN(std::vector<nlohmann::json> records, ReadJsonlRecords(path));
  std::string kept;
  int64_t dropped = 0;
  for (const nlohmann::json& r : records) {
    if (r.contains("step") && r["step"].is_number_integer() && r["step"].get<int64_t>() > step) {
      ++dropped;
      continue;
    }
    absl::StrAppend(&kept, r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "\n");
  }
  R1_RETURN_IF_ERROR(WriteFileAtomic(path, kept));
  return dropped;
}

}  // namespace r1
