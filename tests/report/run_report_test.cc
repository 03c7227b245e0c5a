// Tests of the HTML run report on a synthetic run directory written the way a run writes it
// (run.yaml, journal, metrics.jsonl through MetricsWriter, samples.jsonl, eval.json): stage names
// and states, the DAG, the charts and their points, the eval table, escaped samples, and the
// messages for what is missing or unreadable.
#include "report/run_report.h"

#include <unistd.h>

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/metrics.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// warmup -> grpo -> eval, and grpo -> late (running, torn metrics) -> late_eval (not started).
constexpr char kRunYaml[] = R"(run: {name: report_test, seed: 1}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
datasets:
  chat: {synthetic: {kind: non_reasoning, count: 8, seed: 3}}
  prompts: {synthetic: {kind: arithmetic, count: 8, seed: 2}}
stages:
  - name: warmup
    type: pretrain
    inputs: {datasets: [chat]}
    pretrain: {batch_size: 2, steps: 3}
  - name: grpo
    type: grpo
    depends_on: [warmup]
    inputs: {model: "stage:warmup", datasets: [prompts]}
    grpo: {steps: 4, prompts_per_step: 2, group_size: 2, rewards: [{name: format}, {name: accuracy}]}
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [prompts]}
  - name: late
    type: grpo
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [prompts]}
    grpo: {steps: 10, prompts_per_step: 2, group_size: 2, rewards: [{name: format}]}
  - name: late_eval
    type: eval
    depends_on: [late]
    inputs: {model: "stage:late", datasets: [prompts]}
)";

constexpr char kJournal[] =
    R"({"stage":"warmup","event":"running","attempt":1,"step":-1,"time_ms":1000000}
{"stage":"warmup","event":"succeeded","attempt":1,"step":-1,"time_ms":1012500}
{"stage":"grpo","event":"running","attempt":1,"step":-1,"time_ms":1012500}
{"stage":"grpo","event":"failed","attempt":1,"step":-1,"time_ms":1013000,"error":"worker <lost> & gone"}
{"stage":"grpo","event":"running","attempt":2,"step":-1,"time_ms":1013000}
{"stage":"grpo","event":"succeeded","attempt":2,"step":-1,"time_ms":1260000}
{"stage":"eval","event":"running","attempt":1,"step":-1,"time_ms":1260000}
{"stage":"eval","event":"succeeded","attempt":1,"step":-1,"time_ms":1261000}
{"stage":"late","event":"running","attempt":1,"step":-1,"time_ms":1261000}
)";

class RunReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = JoinPath(::testing::TempDir(), absl::StrCat("run_report_test_", ::getpid()));
    ASSERT_TRUE(RemoveAll(dir_).ok());
    ASSERT_TRUE(MakeDirs(dir_).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "run.yaml"), kRunYaml).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "journal"), kJournal).ok());

    MetricsWriter warmup(JoinPath(dir_, "warmup/metrics.jsonl"));
    ASSERT_TRUE(warmup.Write(1, {{"loss", 2.0}, {"lr", 1e-4}, {"grad_norm", 3.0}}).ok());
    ASSERT_TRUE(warmup.Write(2, {{"loss", NAN}, {"lr", 1e-4}, {"grad_norm", 2.0}}).ok());  // null
    ASSERT_TRUE(warmup.Write(3, {{"loss", 1.0}, {"lr", 1e-4}, {"grad_norm", 1.0}}).ok());

    MetricsWriter grpo(JoinPath(dir_, "grpo/metrics.jsonl"));
    for (int step = 1; step <= 4; ++step) {
      ASSERT_TRUE(grpo.Write(step, {{"loss", 0.1 * step},
                                    {"reward_mean", 0.2 * step},
                                    {"reward/format", 0.25 * step},
                                    {"reward/accuracy", 0.1},
                                    {"accuracy", 0.1},
                                    {"kl", 0.01 * step},
                                    {"entropy", 1.0},
                                    {"clip_fraction", 0.0},
                                    {"lr", 1e-5},
                                    {"response_length_mean", 10.0 + step},
                                    {"train_tokens_per_s", 1000.0},
                                    {"rollout_tokens_per_s", 2000.0}})
                      .ok());
    }
    SamplesWriter samples(JoinPath(dir_, "grpo/samples.jsonl"));
    ASSERT_TRUE(samples.Write(3, {{"old prompt", "old response", 0.0, {}}}).ok());
    std::vector<RolloutSample> last;
    last.push_back({"What is 1+1?",
                    "<script>alert(1)</script> & <b>2</b>",
                    1.0,
                    {{"format", 1.0}, {"accuracy", 0.0}}});
    for (int i = 0; i < 5; ++i) last.push_back({"p" + std::to_string(i), "r", 0.5, {}});
    ASSERT_TRUE(samples.Write(4, last).ok());

    ASSERT_TRUE(MakeDirs(JoinPath(dir_, "eval/output")).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "eval/output/eval.json"),
                                R"({"stage": "eval", "problems": 8, "k": 2, "pass@1": 0.4375,
                                    "maj@k": 0.375, "format_rate": 0.8125,
                                    "response_length_mean": 12.5,
                                    "rollout_tokens_per_s": 1234.5,
                                    "tasks": {"arithmetic": {"problems": 5, "pass@1": 0.6,
                                                              "maj@k": 0.4},
                                              "countdown": {"problems": 3, "pass@1": 0.1667,
                                                            "maj@k": 0.3333}}})")
                    .ok());

    // The running stage: two lines, then a torn one (a crash mid-write).
    ASSERT_TRUE(MakeDirs(JoinPath(dir_, "late")).ok());
    ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "late/metrics.jsonl"),
                                "{\"step\":1,\"time_ms\":1262000,\"loss\":0.5}\n"
                                "{\"step\":2,\"time_ms\":1263000,\"loss\":0.25}\n"
                                "{\"step\":3,\"time_ms\":12640")
                    .ok());
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }

  std::string Render() {
    absl::StatusOr<std::string> html = RenderRunReport(dir_);
    EXPECT_TRUE(html.ok()) << html.status();
    return html.value_or("");
  }

  std::string dir_;
};

// `text` from `anchor` up to the first `end` after it ("" when `anchor` is absent).
std::string Between(const std::string& text, const std::string& anchor, const std::string& end) {
  const size_t start = text.find(anchor);
  if (start == std::string::npos) return "";
  const size_t stop = text.find(end, start + anchor.size());
  return text.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
}

// The number of points of the first series polyline of the chart of `metric` in the section of
// `stage`; -1 when there is no polyline.
int SeriesPoints(const std::string& html, const std::string& stage, const std::string& metric) {
  const std::string section = Between(html, "id=\"stage-" + stage + "\"", "</section>");
  const std::string chart = Between(section, "data-metric=\"" + metric + "\"", "</svg>");
  const std::string points = Between(chart, "<polyline class=\"series\" points=\"", "\" ");
  if (points.empty()) return -1;
  const std::string list =
      points.substr(std::string("<polyline class=\"series\" points=\"").size());
  return static_cast<int>(std::vector<std::string>(absl::StrSplit(list, ' ')).size());
}

TEST_F(RunReportTest, SelfContainedPageWithEveryStage) {
  const std::string html = Render();
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  // Everything was readable (only the torn metrics line of "late" is a problem, in its section).
  EXPECT_THAT(html, Not(HasSubstr("id=\"problems\""))) << Between(html, "id=\"problems\"", "</ul>");
  EXPECT_THAT(html, HasSubstr("r1 run report: report_test"));  // the run name, escaped
  // Nothing runs and nothing is fetched: no script, no link, no URL other than the SVG namespace.
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("https:")));
  for (const char* stage : {"warmup", "grpo", "eval", "late", "late_eval"}) {
    EXPECT_THAT(html, HasSubstr(absl::StrCat("<g class=\"stage\" data-stage=\"", stage, "\"")));
    EXPECT_THAT(html, HasSubstr(absl::StrCat("id=\"stage-", stage, "\"")));
  }
  EXPECT_THAT(html, HasSubstr("data-from=\"grpo\" data-to=\"late\""));
  EXPECT_THAT(html, HasSubstr("<span id=\"run-state\">running (or interrupted)</span>"));
}

TEST_F(RunReportTest, StageTableHasStatesAttemptsStepsDurationsAndErrors) {
  const std::string html = Render();
  const std::string table = Between(html, "<table class=\"stages\">", "</table>");
  const std::string warmup = Between(table, "#stage-warmup\"", "</tr>");
  EXPECT_THAT(warmup, HasSubstr(">succeeded<"));
  EXPECT_THAT(warmup, HasSubstr(">3/3<"));     // last logged step / planned steps
  EXPECT_THAT(warmup, HasSubstr(">12.5 s<"));  // 1000000 -> 1012500 ms
  const std::string grpo = Between(table, "#stage-grpo\"", "</tr>");
  EXPECT_THAT(grpo, HasSubstr(">2<"));           // attempts
  EXPECT_THAT(grpo, HasSubstr(">4 min 07 s<"));  // first attempt's start to the end
  EXPECT_THAT(Between(html, "id=\"stage-grpo\"", "</section>"),
              HasSubstr("attempt 1 failed: worker &lt;lost&gt; &amp; gone"));
  const std::string late = Between(table, "#stage-late\"", "</tr>");
  EXPECT_THAT(late, HasSubstr(">running<"));
  EXPECT_THAT(late, HasSubstr(">2/10<"));
  EXPECT_THAT(late, HasSubstr("\xE2\x89\xA5 2.0 s"));  // so far: up to its newest metrics line
  const std::string late_eval = Between(table, "#stage-late_eval\"", "</tr>");
  EXPECT_THAT(late_eval, HasSubstr(">pending<"));
}

TEST_F(RunReportTest, EvalTableHasTheEvalJsonValuesAndEachTask) {
  const std::string html = Render();
  const std::string table = Between(html, "<table class=\"evals\">", "</table>");
  const std::string eval = Between(table, "<tr><td>eval</td>", "</tr>");
  EXPECT_THAT(eval, HasSubstr("<td>stage:grpo</td>"));
  for (const char* value : {">8<", ">2<", ">0.4375<", ">0.375<", ">0.8125<", ">12.5<", ">1234<"}) {
    EXPECT_THAT(eval, HasSubstr(value)) << value;
  }
  EXPECT_THAT(Between(table, "task arithmetic", "</tr>"), HasSubstr(">0.6<"));
  EXPECT_THAT(Between(table, "task countdown", "</tr>"), HasSubstr(">0.1667<"));
  // The eval that has not run says so.
  EXPECT_THAT(Between(table, "<tr><td>late_eval</td>", "</tr>"),
              HasSubstr("no results yet (pending): late_eval/output/eval.json does not exist"));
}

TEST_F(RunReportTest, ChartsForTheLoggedMetricsWithOnePointPerValue) {
  const std::string html = Render();
  EXPECT_EQ(SeriesPoints(html, "grpo", "loss"), 4);
  EXPECT_EQ(SeriesPoints(html, "grpo", "reward_mean"), 4);
  EXPECT_EQ(SeriesPoints(html, "grpo", "reward/format"), 4);
  EXPECT_EQ(SeriesPoints(html, "grpo", "kl"), 4);
  EXPECT_EQ(SeriesPoints(html, "warmup", "loss"), 2);  // the null of step 2 is not drawn
  EXPECT_EQ(SeriesPoints(html, "warmup", "lr"), 3);
  EXPECT_EQ(SeriesPoints(html, "warmup", "reward_mean"), -1);  // not logged: no chart
  const std::string warmup = Between(html, "id=\"stage-warmup\"", "</section>");
  EXPECT_THAT(warmup, HasSubstr("1 missing value"));
  EXPECT_THAT(warmup, Not(HasSubstr("data-metric=\"grad_norm\"")));  // not a charted metric...
  EXPECT_THAT(warmup, HasSubstr("<td>grad_norm</td>"));              // ... but in the last values
  for (const char* metric : {"reward/accuracy", "accuracy", "response_length_mean", "entropy",
                             "clip_fraction", "lr", "train_tokens_per_s", "rollout_tokens_per_s"}) {
    EXPECT_EQ(SeriesPoints(html, "grpo", metric), 4) << metric;
  }
}

TEST_F(RunReportTest, SamplesOfTheLastStepAreEscapedAndLimited) {
  RunReportOptions options;
  options.max_samples_per_stage = 3;
  absl::StatusOr<std::string> html = RenderRunReport(dir_, options);
  ASSERT_TRUE(html.ok()) << html.status();
  const std::string grpo = Between(*html, "id=\"stage-grpo\"", "</section>");
  EXPECT_THAT(grpo, HasSubstr("Sampled rollouts at step 4 (3 of 6)"));
  EXPECT_THAT(grpo, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;2&lt;/b&gt;"));
  EXPECT_THAT(*html, Not(HasSubstr("<script>")));
  EXPECT_THAT(grpo, Not(HasSubstr("old response")));  // only the last step's
  EXPECT_THAT(grpo, HasSubstr("format = 1"));
  EXPECT_THAT(grpo, HasSubstr(">p1<"));
  EXPECT_THAT(grpo, Not(HasSubstr(">p2<")));  // the 4th sample is past the limit
}

TEST_F(RunReportTest, SaysWhatIsMissingOrTorn) {
  const std::string html = Render();
  const std::string late = Between(html, "id=\"stage-late\"", "</section>");
  EXPECT_THAT(late, HasSubstr("late/metrics.jsonl: 2 records, 1 bad line skipped"));
  EXPECT_EQ(SeriesPoints(html, "late", "loss"), 2);
  EXPECT_THAT(late, HasSubstr("No sampled rollouts yet (late/samples.jsonl does not exist)"));
  const std::string late_eval = Between(html, "id=\"stage-late_eval\"", "</section>");
  EXPECT_THAT(late_eval,
              HasSubstr("Not started: no metrics yet. (late_eval/metrics.jsonl does not exist)"));
}

TEST_F(RunReportTest, UnparsableRunYamlAndCorruptJournalStillGiveAPage) {
  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "run.yaml"), "stages: [not a stage\n").ok());
  std::string html = Render();
  EXPECT_THAT(html, HasSubstr("run.yaml could not be used"));
  // The stages come from the journal, with their metrics.
  EXPECT_THAT(html, HasSubstr("data-stage=\"grpo\""));
  EXPECT_EQ(SeriesPoints(html, "grpo", "loss"), 4);

  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir_, "journal"), "not json\n").ok());
  html = Render();
  EXPECT_THAT(html, HasSubstr("the journal could not be replayed"));
}

TEST_F(RunReportTest, FreshRunWithoutJournal) {
  ASSERT_TRUE(RemoveAll(JoinPath(dir_, "journal")).ok());
  const std::string html = Render();
  EXPECT_THAT(html, HasSubstr("there is no journal yet: no stage has started"));
  EXPECT_THAT(html, HasSubstr("<span id=\"run-state\">not started</span>"));
}

TEST(RunReportErrorsTest, NotARunDirectory) {
  absl::StatusOr<std::string> missing = RenderRunReport("/nonexistent/r1/run");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("not a run directory: no such directory"));
  absl::StatusOr<std::string> no_yaml = RenderRunReport(::testing::TempDir());
  EXPECT_EQ(no_yaml.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_yaml.status().message(), HasSubstr("it has no run.yaml"));
}

TEST(ChartedMetricKeysTest, KnownKeysInOrderWithEveryRewardPart) {
  EXPECT_THAT(ChartedMetricKeys({"lr", "step", "reward/b", "kl", "loss", "reward/a", "grad_norm",
                                 "reward_mean", "time_ms", "importance_weight_mean"}),
              ElementsAre("loss", "reward_mean", "reward/a", "reward/b", "kl",
                          "importance_weight_mean", "lr"));
}

}  // namespace
}  // namespace r1
