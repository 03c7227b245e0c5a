// The HTML run report (see run_report.h). Reading the run directory comes first (RunView), then
// the page, section by section: header, problems, stages (DAG + table), evals, one section per
// stage with its charts and sampled rollouts.
#include "report/run_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file_util.h"
#include "nlohmann/json.hpp"
#include "pipeline/config.h"
#include "pipeline/dag.h"
#include "pipeline/journal.h"
#include "pipeline/jsonl.h"
#include "pipeline/planned_steps.h"
#include "pipeline/run_dir.h"
#include "report/dag_svg.h"
#include "report/html.h"
#include "report/line_chart.h"

namespace r1 {
namespace {

// A stage's per-step log (metrics.jsonl or samples.jsonl) as far as it could be read.
struct StageLog {
  bool exists = false;
  std::vector<nlohmann::json> records;  // the readable lines, in file order
  std::string problem;                  // unreadable file or skipped lines; empty when clean
};

// What the report knows about one stage.
struct StageInfo {
  std::string name;
  std::string type = "unknown";  // StageTypeName, or "unknown" when run.yaml did not parse
  std::vector<std::string> depends_on;
  std::string model;              // eval: the evaluated model as the config names it
  std::string state = "pending";  // from the journal; "unknown" when it could not be replayed
  int32_t attempt = 0;
  std::string error;                        // the last failure, while the stage is failed
  std::vector<std::string> attempt_errors;  // "attempt N failed: why", from the journal
  int64_t start_ms = -1;  // the first "running" record of the journal; -1: never started
  int64_t end_ms = -1;    // the last journal record (finished) or metrics line (running)
  int64_t planned_steps = 0;
  StageLog metrics, samples;
};

struct RunView {
  std::string root;
  std::string run_name;
  std::vector<StageInfo> stages;      // topological order when the config parsed
  std::vector<std::string> problems;  // run-level things missing or unreadable (plain text)
};

StageLog ReadStageLog(const std::string& path, const std::string& display_name) {
  StageLog log;
  if (!PathExists(path)) return log;
  log.exists = true;
  JsonlReadOptions read_options;
  read_options.skip_bad_lines = true;
  read_options.max_kept_skip_messages = 1;
  JsonlReadStats stats;
  absl::StatusOr<std::vector<nlohmann::json>> records = ReadJsonl(path, read_options, &stats);
  if (!records.ok()) {
    log.problem = absl::StrCat(display_name, " could not be read: ", records.status().message());
    return log;
  }
  log.records = *std::move(records);
  if (stats.skipped_lines > 0) {
    log.problem = absl::StrCat(display_name, ": ", stats.Summary(),
                               " (a torn last line is what a crash mid-write leaves)");
  }
  return log;
}

int64_t IntField(const nlohmann::json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

// Reads everything the report shows. Only a missing run.yaml is an error.
absl::StatusOr<RunView> LoadRunView(const std::string& root) {
  if (!IsDirectory(root)) {
    return absl::NotFoundError(absl::StrCat(root, " is not a run directory: no such directory"));
  }
  absl::StatusOr<RunDir> run_dir = RunDir::Open(root);
  if (!run_dir.ok()) {
    return absl::NotFoundError(absl::StrCat(
        root, " is not a run directory: it has no run.yaml (r1 run writes one at its start)"));
  }
  RunView view;
  view.root = root;

  // The stages and their dependencies, from run.yaml.
  absl::StatusOr<PipelineConfig> config = absl::UnknownError("unread");
  absl::StatusOr<std::string> yaml = run_dir->ReadRunYaml();
  if (yaml.ok()) config = ParseConfig(*yaml, ConfigParseOptions{"", run_dir->RunYamlPath()});
  if (!yaml.ok() || !config.ok()) {
    view.problems.push_back(absl::StrCat(
        "run.yaml could not be used (", (yaml.ok() ? config.status() : yaml.status()).message(),
        "); the stages below are those of the journal, without their dependencies"));
  } else {
    view.run_name = config->run.name;
    std::vector<std::string> order;
    absl::StatusOr<StageDag> dag = StageDag::Build(config->stages);
    if (dag.ok()) {
      order = dag->TopologicalOrder();
    } else {
      view.problems.push_back(absl::StrCat("the stage graph is invalid: ", dag.status().message()));
      for (const StageConfig& s : config->stages) order.push_back(s.name);
    }
    for (const std::string& name : order) {
      const StageConfig& s = *config->FindStage(name);
      StageInfo info;
      info.name = name;
      info.type = std::string(StageTypeName(s.type));
      info.depends_on = s.depends_on;
      info.model = s.inputs.model.ToString();
      info.planned_steps = PlannedSteps(s);
      view.stages.push_back(std::move(info));
    }
  }

  // States from the journal replay; start and end times from its records.
  const std::string journal_path = run_dir->JournalPath();
  std::map<std::string, StageStatus> states;
  bool states_known = true;
  if (!PathExists(journal_path)) {
    view.problems.push_back("there is no journal yet: no stage has started");
  } else {
    absl::StatusOr<JournalReplay> replay = ReplayJournal(journal_path);
    if (!replay.ok()) {
      states_known = false;
      view.problems.push_back(absl::StrCat("the journal could not be replayed (",
                                           replay.status().message(),
                                           "); stage states are unknown"));
    } else {
      states = replay->stages;
      if (replay->torn_tail) {
        view.problems.push_back(absl::StrCat("the journal's last line (line ",
                                             replay->torn_tail_line,
                                             ") is torn, left by a crash; it is ignored"));
      }
    }
  }
  std::map<std::string, std::pair<int64_t, int64_t>> times;  // stage -> (first running, last)
  std::map<std::string, std::vector<std::string>> attempt_errors;
  std::vector<std::string> journal_order;
  if (PathExists(journal_path)) {
    JsonlReadOptions read_options;
    read_options.skip_bad_lines = true;
    absl::StatusOr<std::vector<nlohmann::json>> records = ReadJsonl(journal_path, read_options);
    for (const nlohmann::json& r : records.ok() ? *records : std::vector<nlohmann::json>()) {
      auto stage = r.find("stage");
      if (stage == r.end() || !stage->is_string()) continue;
      const std::string name = stage->get<std::string>();
      const int64_t t = IntField(r, "time_ms", -1);
      auto [it, inserted] = times.emplace(name, std::make_pair(int64_t{-1}, int64_t{-1}));
      if (inserted) journal_order.push_back(name);
      if (r.value("event", "") == "running" && it->second.first < 0) it->second.first = t;
      if (r.value("event", "") == "failed") {
        attempt_errors[name].push_back(
            absl::StrCat("attempt ", IntField(r, "attempt", 0), " failed: ", r.value("error", "")));
      }
      it->second.second = std::max(it->second.second, t);
    }
  }
  if (!config.ok()) {
    for (const std::string& name : journal_order) {
      StageInfo info;
      info.name = name;
      view.stages.push_back(std::move(info));
    }
  }

  for (StageInfo& stage : view.stages) {
    auto st = states.find(stage.name);
    if (!states_known) {
      stage.state = "unknown";
    } else if (st != states.end()) {
      stage.state = std::string(StageStateName(st->second.state));
      stage.attempt = st->second.attempt;
      stage.error = st->second.error;
    }
    stage.attempt_errors = attempt_errors[stage.name];
    stage.metrics = ReadStageLog(run_dir->MetricsPath(stage.name), stage.name + "/metrics.jsonl");
    stage.samples = ReadStageLog(run_dir->SamplesPath(stage.name), stage.name + "/samples.jsonl");
    auto t = times.find(stage.name);
    if (t != times.end() && t->second.first >= 0) {
      stage.start_ms = t->second.first;
      stage.end_ms = t->second.second;
      // Still running (or interrupted): up to its newest metrics line.
      if (stage.state == "running" && !stage.metrics.records.empty()) {
        stage.end_ms =
            std::max(stage.end_ms, IntField(stage.metrics.records.back(), "time_ms", -1));
      }
    }
  }
  return view;
}

// ---- The page.

constexpr char kStyle[] = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 24px auto; max-width: 1240px; padding: 0 16px; color: #1f2328; background: #fff; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #57606a; margin: 2px 0; }
.missing { color: #bc4c00; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         border: 1px solid #8c959f; vertical-align: middle; font-weight: normal; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.task td:first-child { padding-left: 24px; }
.charts { display: flex; flex-wrap: wrap; gap: 10px; }
.dag-wrap { overflow-x: auto; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; font-size: 12px;
      font-family: ui-monospace, "DejaVu Sans Mono", monospace; max-width: 520px; }
)css";

std::string Badge(const std::string& state) {
  return absl::StrCat("<span class=\"badge\" style=\"background:", StateFill(state), "\">",
                      EscapeHtml(state), "</span>");
}

std::string Duration(const StageInfo& stage) {
  if (stage.start_ms < 0 || stage.end_ms < stage.start_ms) return "-";
  std::string d = FormatDurationMs(stage.end_ms - stage.start_ms);
  return stage.state == "running" ? absl::StrCat("\xE2\x89\xA5 ", d) : d;  // "≥": so far
}

std::string StepsText(const StageInfo& stage) {
  if (stage.metrics.records.empty()) {
    return stage.planned_steps > 0 ? absl::StrCat("0/", stage.planned_steps) : "-";
  }
  std::string steps = absl::StrCat(IntField(stage.metrics.records.back(), "step", 0));
  if (stage.planned_steps > 0) absl::StrAppend(&steps, "/", stage.planned_steps);
  return steps;
}

std::string OverallState(const RunView& view) {
  if (view.stages.empty()) return "unknown";
  int succeeded = 0;
  for (const StageInfo& s : view.stages) {
    if (s.state == "failed") return "failed";
    if (s.state == "running") return "running (or interrupted)";
    if (s.state == "unknown") return "unknown";
    succeeded += s.state == "succeeded";
  }
  if (succeeded == static_cast<int>(view.stages.size())) return "succeeded";
  return succeeded == 0 ? "not started" : "incomplete (interrupted between stages)";
}

std::string NowUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

void AppendStagesSection(const RunView& view, std::string* html) {
  absl::StrAppend(html, "<section id=\"stages\">\n<h2>Stages</h2>\n");
  if (view.stages.empty()) {
    absl::StrAppend(html,
                    "<p class=\"missing\">No stages are known: run.yaml did not parse and "
                    "the journal names none.</p>\n</section>\n");
    return;
  }
  std::vector<DagBox> boxes;
  for (const StageInfo& s : view.stages) {
    boxes.push_back({s.name,
                     s.depends_on,
                     s.state,
                     {s.type, absl::StrCat(s.state, s.start_ms >= 0 ? " \xC2\xB7 " : "",
                                           s.start_ms >= 0 ? Duration(s) : "")}});
  }
  absl::StrAppend(html, "<div class=\"dag-wrap\">", RenderDagSvg(boxes), "</div>\n");
  absl::StrAppend(html,
                  "<table class=\"stages\">\n<tr><th>stage</th><th>type</th><th>depends on</th>"
                  "<th>state</th><th>attempts</th><th>steps</th><th>duration</th><th>error</th>"
                  "</tr>\n");
  for (const StageInfo& s : view.stages) {
    absl::StrAppend(html, "<tr><td><a href=\"#stage-", EscapeHtml(s.name), "\">",
                    EscapeHtml(s.name), "</a></td><td>", EscapeHtml(s.type), "</td><td>",
                    EscapeHtml(absl::StrJoin(s.depends_on, ", ")), "</td><td>", Badge(s.state),
                    "</td><td class=\"num\">", s.attempt, "</td><td class=\"num\">", StepsText(s),
                    "</td><td class=\"num\">", EscapeHtml(Duration(s)), "</td><td><pre>",
                    EscapeHtml(TruncateUtf8(s.error, 600)), "</pre></td></tr>\n");
  }
  absl::StrAppend(html, "</table>\n</section>\n");
}

std::string NumberCell(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "<td class=\"num\">-</td>";
  return absl::StrCat("<td class=\"num\">", EscapeHtml(FormatNumber(it->get<double>())), "</td>");
}

void AppendEvalSection(const RunView& view, std::string* html) {
  absl::StrAppend(html, "<section id=\"evals\">\n<h2>Evaluations</h2>\n");
  std::vector<const StageInfo*> evals;
  for (const StageInfo& s : view.stages) {
    if (s.type == "eval") evals.push_back(&s);
  }
  if (evals.empty()) {
    absl::StrAppend(html,
                    "<p class=\"missing\">This pipeline has no eval stage.</p>\n</section>\n");
    return;
  }
  absl::StrAppend(html,
                  "<table class=\"evals\">\n<tr><th>eval</th><th>model</th><th>problems</th>"
                  "<th>k</th><th>pass@1</th><th>maj@k</th><th>format rate</th>"
                  "<th>mean response length</th><th>tokens/s</th></tr>\n");
  for (const StageInfo* s : evals) {
    const std::string path = JoinPath(JoinPath(view.root, s->name), "output/eval.json");
    const std::string first_cells =
        absl::StrCat("<tr><td>", EscapeHtml(s->name), "</td><td>", EscapeHtml(s->model), "</td>");
    if (!PathExists(path)) {
      absl::StrAppend(html, first_cells, "<td colspan=\"7\" class=\"missing\">no results yet (",
                      EscapeHtml(s->state), "): ", EscapeHtml(s->name),
                      "/output/eval.json does not exist</td></tr>\n");
      continue;
    }
    absl::StatusOr<std::string> text = ReadFile(path);
    nlohmann::json j = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!j.is_object()) {
      absl::StrAppend(html, first_cells, "<td colspan=\"7\" class=\"missing\">",
                      EscapeHtml(s->name), "/output/eval.json is ",
                      text.ok() ? "not a JSON object" : EscapeHtml(text.status().ToString()),
                      "</td></tr>\n");
      continue;
    }
    absl::StrAppend(html, first_cells, NumberCell(j, "problems"), NumberCell(j, "k"),
                    NumberCell(j, "pass@1"), NumberCell(j, "maj@k"), NumberCell(j, "format_rate"),
                    NumberCell(j, "response_length_mean"), NumberCell(j, "rollout_tokens_per_s"),
                    "</tr>\n");
    auto tasks = j.find("tasks");
    if (tasks != j.end() && tasks->is_object() && tasks->size() > 1) {
      for (const auto& [task, values] : tasks->items()) {
        if (!values.is_object()) continue;
        absl::StrAppend(html, "<tr class=\"task\"><td>task ", EscapeHtml(task), "</td><td></td>",
                        NumberCell(values, "problems"), "<td></td>", NumberCell(values, "pass@1"),
                        NumberCell(values, "maj@k"), "<td></td><td></td><td></td></tr>\n");
      }
    }
  }
  absl::StrAppend(html, "</table>\n</section>\n");
}

// Chart titles of the charted metric keys.
std::string MetricTitle(const std::string& key) {
  static const auto* titles = new std::map<std::string, std::string>{
      {"loss", "loss"},
      {"reward_mean", "reward (mean)"},
      {"accuracy", "accuracy"},
      {"response_length_mean", "response length (mean)"},
      {"kl", "KL to the reference"},
      {"entropy", "entropy"},
      {"clip_fraction", "clip fraction"},
      {"lr", "learning rate (lr)"},
      {"train_tokens_per_s", "train tokens/s"},
      {"rollout_tokens_per_s", "rollout tokens/s"},
      {"importance_weight_mean", "importance weight π_old/π_behaviour (mean)"}};
  auto it = titles->find(key);
  if (it != titles->end()) return it->second;
  if (absl::StartsWith(key, "reward/")) return absl::StrCat("reward: ", key.substr(7));
  return key;
}

void AppendCharts(const StageInfo& stage, std::string* html) {
  const StageLog& log = stage.metrics;
  if (!log.exists) {
    const char* why = stage.state == "pending"   ? "Not started: no metrics yet."
                      : stage.state == "running" ? "No metrics logged yet."
                      : stage.state == "failed"  ? "No metrics were logged before it failed."
                                                 : "This stage logs no per-step metrics.";
    absl::StrAppend(html, "<p class=\"missing\">", why, " (", EscapeHtml(stage.name),
                    "/metrics.jsonl does not exist)</p>\n");
    return;
  }
  if (!log.problem.empty()) {
    absl::StrAppend(html, "<p class=\"missing\">", EscapeHtml(log.problem), "</p>\n");
  }
  if (log.records.empty()) {
    absl::StrAppend(html, "<p class=\"missing\">", EscapeHtml(stage.name),
                    "/metrics.jsonl has no complete line yet.</p>\n");
    return;
  }
  std::set<std::string> logged;
  for (const nlohmann::json& r : log.records) {
    for (const auto& [key, value] : r.items()) {
      if (value.is_number() || value.is_null()) logged.insert(key);
    }
  }
  const std::vector<std::string> keys =
      ChartedMetricKeys(std::vector<std::string>(logged.begin(), logged.end()));
  if (!keys.empty()) {
    absl::StrAppend(html, "<div class=\"charts\">\n");
    for (const std::string& key : keys) {
      std::vector<ChartPoint> points;
      for (const nlohmann::json& r : log.records) {
        auto step = r.find("step");
        auto value = r.find(key);
        if (step == r.end() || !step->is_number() || value == r.end()) continue;
        points.push_back({step->get<double>(), value->is_number()
                                                   ? value->get<double>()
                                                   : std::numeric_limits<double>::quiet_NaN()});
      }
      LineChartOptions chart;
      chart.title = MetricTitle(key);  // the key itself is the box's data-metric
      absl::StrAppend(html, "<div class=\"chart-box\" data-metric=\"", EscapeHtml(key), "\">",
                      RenderLineChart(points, chart), "</div>\n");
    }
    absl::StrAppend(html, "</div>\n");
  }
  // Every number of the last line, charted or not (e.g. rejection sampling's counters).
  const nlohmann::json& last = log.records.back();
  absl::StrAppend(
      html, "<details", keys.empty() ? " open" : "", "><summary>last logged values (step ",
      IntField(last, "step", 0), ", ", log.records.size(), " line",
      log.records.size() == 1 ? "" : "s",
      ")</summary>\n<table class=\"last-values\"><tr><th>metric</th><th>value</th></tr>\n");
  for (const auto& [key, value] : last.items()) {
    if (key == "step" || key == "time_ms") continue;
    absl::StrAppend(html, "<tr><td>", EscapeHtml(key), "</td><td class=\"num\">",
                    value.is_number() ? EscapeHtml(FormatNumber(value.get<double>()))
                                      : EscapeHtml(value.dump()),
                    "</td></tr>\n");
  }
  absl::StrAppend(html, "</table></details>\n");
}

void AppendSamples(const StageInfo& stage, const RunReportOptions& options, std::string* html) {
  const StageLog& log = stage.samples;
  if (!log.exists) {
    if (stage.type == "grpo") {
      absl::StrAppend(html, "<p class=\"missing\">No sampled rollouts yet (",
                      EscapeHtml(stage.name), "/samples.jsonl does not exist).</p>\n");
    }
    return;
  }
  if (!log.problem.empty()) {
    absl::StrAppend(html, "<p class=\"missing\">", EscapeHtml(log.problem), "</p>\n");
  }
  const nlohmann::json* samples = nullptr;
  int64_t step = 0;
  for (auto it = log.records.rbegin(); it != log.records.rend() && samples == nullptr; ++it) {
    auto s = it->find("samples");
    if (s != it->end() && s->is_array()) {
      samples = &*s;
      step = IntField(*it, "step", 0);
    }
  }
  if (samples == nullptr) {
    absl::StrAppend(html, "<p class=\"missing\">", EscapeHtml(stage.name),
                    "/samples.jsonl has no line with a \"samples\" list.</p>\n");
    return;
  }
  const size_t shown =
      std::min(samples->size(), static_cast<size_t>(std::max(0, options.max_samples_per_stage)));
  absl::StrAppend(html, "<h3>Sampled rollouts at step ", step, " (", shown, " of ", samples->size(),
                  ")</h3>\n<table class=\"samples\">\n<tr><th>#</th>"
                  "<th>prompt</th><th>response</th><th>reward</th><th>reward parts</th></tr>\n");
  for (size_t i = 0; i < shown; ++i) {
    const nlohmann::json& s = (*samples)[i];
    if (!s.is_object()) continue;
    auto text = [&](const char* key) {
      auto it = s.find(key);
      return it != s.end() && it->is_string()
                 ? EscapeHtml(TruncateUtf8(it->get<std::string>(), options.max_sample_bytes))
                 : std::string("-");
    };
    std::string parts;
    auto terms = s.find("reward_terms");
    if (terms != s.end() && terms->is_object()) {
      for (const auto& [name, value] : terms->items()) {
        absl::StrAppend(&parts, parts.empty() ? "" : "<br>", EscapeHtml(name), " = ",
                        value.is_number() ? EscapeHtml(FormatNumber(value.get<double>())) : "-");
      }
    }
    absl::StrAppend(html, "<tr><td class=\"num\">", i + 1, "</td><td><pre>", text("prompt"),
                    "</pre></td><td><pre class=\"response\">", text("response"), "</pre></td>",
                    NumberCell(s, "reward"), "<td>", parts, "</td></tr>\n");
  }
  absl::StrAppend(html, "</table>\n");
}

void AppendStageSection(const StageInfo& stage, const RunReportOptions& options,
                        std::string* html) {
  absl::StrAppend(html, "<section class=\"stage\" id=\"stage-", EscapeHtml(stage.name), "\">\n<h2>",
                  EscapeHtml(stage.name), " ", Badge(stage.state), "</h2>\n<p class=\"meta\">",
                  EscapeHtml(stage.type), " \xC2\xB7 attempt ", stage.attempt, " \xC2\xB7 steps ",
                  StepsText(stage), " \xC2\xB7 duration ", EscapeHtml(Duration(stage)), "</p>\n");
  if (!stage.attempt_errors.empty()) {
    absl::StrAppend(html, "<ul class=\"attempt-errors missing\">\n");
    for (const std::string& error : stage.attempt_errors) {
      absl::StrAppend(html, "<li><pre>", EscapeHtml(TruncateUtf8(error, 2000)), "</pre></li>\n");
    }
    absl::StrAppend(html, "</ul>\n");
  }
  AppendCharts(stage, html);
  AppendSamples(stage, options, html);
  absl::StrAppend(html, "</section>\n");
}

}  // namespace

std::vector<std::string> ChartedMetricKeys(const std::vector<std::string>& logged_keys) {
  const std::set<std::string> logged(logged_keys.begin(), logged_keys.end());
  std::vector<std::string> keys;
  auto add = [&](const std::string& key) {
    if (logged.count(key)) keys.push_back(key);
  };
  add("loss");
  add("reward_mean");
  for (const std::string& key : logged) {
    if (absl::StartsWith(key, "reward/")) keys.push_back(key);
  }
  for (const char* key :
       {"accuracy", "response_length_mean", "kl", "entropy", "clip_fraction",
        "importance_weight_mean", "lr", "train_tokens_per_s", "rollout_tokens_per_s"}) {
    add(key);
  }
  return keys;
}

absl::StatusOr<std::string> RenderRunReport(const std::string& run_dir,
                                            const RunReportOptions& options) {
  absl::StatusOr<RunView> view = LoadRunView(run_dir);
  if (!view.ok()) return view.status();
  const std::string title =
      absl::StrCat("r1 run report: ", view->run_name.empty() ? run_dir : view->run_name);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      EscapeHtml(title), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<h1>",
      EscapeHtml(title), "</h1>\n");
  const std::string overall = OverallState(*view);
  absl::StrAppend(&html, "<p class=\"meta\">run directory <code>", EscapeHtml(run_dir),
                  "</code> \xC2\xB7 ", view->stages.size(),
                  " stages \xC2\xB7 <span id=\"run-state\">", EscapeHtml(overall),
                  "</span> \xC2\xB7 generated ", NowUtc(), "</p>\n");
  if (!view->problems.empty()) {
    absl::StrAppend(&html, "<ul id=\"problems\" class=\"missing\">\n");
    for (const std::string& p : view->problems) {
      absl::StrAppend(&html, "<li>", EscapeHtml(p), "</li>\n");
    }
    absl::StrAppend(&html, "</ul>\n");
  }
  AppendStagesSection(*view, &html);
  AppendEvalSection(*view, &html);
  for (const StageInfo& stage : view->stages) AppendStageSection(stage, options, &html);
  absl::StrAppend(&html, "</body>\n</html>\n");
  return html;
}

absl::Status WriteRunReport(const std::string& run_dir, const std::string& out_path,
                            const RunReportOptions& options) {
  absl::StatusOr<std::string> html = RenderRunReport(run_dir, options);
  if (!html.ok()) return html.status();
  return WriteFileAtomic(out_path, *html);
}

}  // namespace r1
