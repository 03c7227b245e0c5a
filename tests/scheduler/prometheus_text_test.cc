// The Prometheus text exposition of the run's status: the exact text for a small board with a
// running stage and two workers (one dead), name sanitising, label and HELP escaping, and values.
#include "scheduler/prometheus_text.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "scheduler/status_board.h"

namespace r1 {
namespace {

TEST(PrometheusTextTest, SmallBoardExactText) {
  absl::Time now = absl::FromUnixSeconds(1000);
  StatusBoard board("/runs/demo", "demo", {{"sft", "sft", 4}, {"rl", "grpo", 0}});
  board.set_clock([&] { return now; });
  board.StageRunning("sft", 1);
  now += absl::Seconds(2);
  board.StageProgress("sft", 1, 0, {{"loss", 0.5}, {"reward_mean", 0.25}});  // 2 s per step

  WorkerInfo alive;
  alive.id = "w0";
  alive.host = "node1";
  alive.mpi_rank = 0;
  alive.roles = {"trainer", "rollout"};
  alive.last_heartbeat = absl::FromUnixSeconds(1001);
  alive.alive = true;
  WorkerInfo dead = alive;
  dead.id = "w1";
  dead.mpi_rank = -1;  // started without a rank
  dead.host = "node2";
  dead.roles = {"rollout"};
  dead.last_heartbeat = absl::FromUnixSeconds(990);
  dead.alive = false;

  const std::string text = RenderRunMetrics(board.Snapshot({}), {alive, dead},
                                            absl::FromUnixSeconds(1002) + absl::Milliseconds(500),
                                            absl::FromUnixSeconds(900));
  EXPECT_EQ(text, R"(# HELP r1_run_info The run's name and directory (value always 1).
# TYPE r1_run_info gauge
r1_run_info{run="demo",run_dir="/runs/demo"} 1
# HELP r1_run_start_time_seconds When the scheduler started, Unix seconds.
# TYPE r1_run_start_time_seconds gauge
r1_run_start_time_seconds 900
# HELP r1_run_finished 1 once the run has ended, else 0.
# TYPE r1_run_finished gauge
r1_run_finished 0
# HELP r1_run_succeeded 1 once the run has ended with every stage succeeded.
# TYPE r1_run_succeeded gauge
r1_run_succeeded 0
# HELP r1_stage_state 1 for the stage's current state, 0 for the others (pending, running, succeeded, failed, skipped, cancelled).
# TYPE r1_stage_state gauge
r1_stage_state{stage="sft",type="sft",state="pending"} 0
r1_stage_state{stage="sft",type="sft",state="running"} 1
r1_stage_state{stage="sft",type="sft",state="succeeded"} 0
r1_stage_state{stage="sft",type="sft",state="failed"} 0
r1_stage_state{stage="sft",type="sft",state="skipped"} 0
r1_stage_state{stage="sft",type="sft",state="cancelled"} 0
r1_stage_state{stage="rl",type="grpo",state="pending"} 1
r1_stage_state{stage="rl",type="grpo",state="running"} 0
r1_stage_state{stage="rl",type="grpo",state="succeeded"} 0
r1_stage_state{stage="rl",type="grpo",state="failed"} 0
r1_stage_state{stage="rl",type="grpo",state="skipped"} 0
r1_stage_state{stage="rl",type="grpo",state="cancelled"} 0
# HELP r1_stage_attempt The stage's current or last attempt, 1-based (0: not started in this run).
# TYPE r1_stage_attempt gauge
r1_stage_attempt{stage="sft"} 1
r1_stage_attempt{stage="rl"} 0
# HELP r1_stage_step Steps the stage's current attempt has done.
# TYPE r1_stage_step gauge
r1_stage_step{stage="sft"} 1
r1_stage_step{stage="rl"} 0
# HELP r1_stage_total_steps The stage's steps (0 while unknown).
# TYPE r1_stage_total_steps gauge
r1_stage_total_steps{stage="sft"} 4
r1_stage_total_steps{stage="rl"} 0
# HELP r1_stage_eta_seconds Estimated seconds until the stage ends (no sample while unknown).
# TYPE r1_stage_eta_seconds gauge
r1_stage_eta_seconds{stage="sft"} 6
# HELP r1_stage_start_time_seconds When the stage's current attempt started, Unix seconds (no sample before it starts).
# TYPE r1_stage_start_time_seconds gauge
r1_stage_start_time_seconds{stage="sft"} 1000
# HELP r1_stage_metric The stage's latest step metrics, by metric name.
# TYPE r1_stage_metric gauge
r1_stage_metric{stage="sft",name="loss"} 0.5
r1_stage_metric{stage="sft",name="reward_mean"} 0.25
# HELP r1_workers Workers registered with the scheduler, dead ones included.
# TYPE r1_workers gauge
r1_workers 2
# HELP r1_worker_up 1 while the worker is alive, 0 once it was declared dead.
# TYPE r1_worker_up gauge
r1_worker_up{worker="w0",rank="0",host="node1",roles="trainer,rollout"} 1
r1_worker_up{worker="w1",rank="",host="node2",roles="rollout"} 0
# HELP r1_worker_heartbeat_age_seconds Seconds since the worker's last heartbeat (or its registration).
# TYPE r1_worker_heartbeat_age_seconds gauge
r1_worker_heartbeat_age_seconds{worker="w0",rank="0",host="node1"} 1.5
r1_worker_heartbeat_age_seconds{worker="w1",rank="",host="node2"} 12.5
)");
}

TEST(PrometheusTextTest, FinishedRunAndLabelValuesAreEscaped) {
  StatusBoard board("C:\\runs\\\"x\"", "line1\nline2", {{"a\"b", "sft", 1}});
  board.StageRunning("a\"b", 1);
  board.StageProgress("a\"b", 1, 1, {{"pass@1", 1.0}});
  board.StageSucceeded("a\"b");
  board.Finish(true);
  const std::string text =
      RenderRunMetrics(board.Snapshot({}), {}, absl::UnixEpoch(), absl::UnixEpoch());
  EXPECT_NE(text.find(R"(r1_run_info{run="line1\nline2",run_dir="C:\\runs\\\"x\""} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("r1_run_finished 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_run_succeeded 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(r1_stage_state{stage="a\"b",type="sft",state="succeeded"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(r1_stage_metric{stage="a\"b",name="pass@1"} 1)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(r1_stage_eta_seconds{stage="a\"b"} 0)"), std::string::npos) << text;
  EXPECT_NE(text.find("r1_workers 0\n"), std::string::npos) << text;
  // No worker: the worker families have their HELP and TYPE lines and no sample.
  EXPECT_NE(text.find("# TYPE r1_worker_up gauge\n# HELP r1_worker_heartbeat_age_seconds"),
            std::string::npos)
      << text;
}

TEST(PrometheusTextTest, NamesAreSanitised) {
  EXPECT_EQ(PrometheusMetricName("r1_stage_step"), "r1_stage_step");
  EXPECT_EQ(PrometheusMetricName("job:rate5m"), "job:rate5m");
  EXPECT_EQ(PrometheusMetricName("pass@1/countdown"), "pass_1_countdown");
  EXPECT_EQ(PrometheusMetricName("1st"), "_1st");
  EXPECT_EQ(PrometheusMetricName(""), "_");
  EXPECT_EQ(PrometheusMetricName("é"), "__");  // two UTF-8 bytes
  EXPECT_EQ(PrometheusLabelName("a:b"), "a_b");
  EXPECT_EQ(PrometheusLabelName("9x"), "_9x");
  PrometheusWriter w;
  w.Family("bad name", "gauge", "help with \\ and\nnewline");
  w.Sample("bad name", {{"label-x", "v"}}, 2);
  EXPECT_EQ(w.text(),
            "# HELP bad_name help with \\\\ and\\nnewline\n# TYPE bad_name gauge\n"
            "bad_name{label_x=\"v\"} 2\n");
}

TEST(PrometheusTextTest, Values) {
  EXPECT_EQ(PrometheusValue(0), "0");
  EXPECT_EQ(PrometheusValue(-3), "-3");
  EXPECT_EQ(PrometheusValue(0.1), "0.1");
  EXPECT_EQ(PrometheusValue(1234567), "1234567");
  EXPECT_EQ(PrometheusValue(1e-5), "1e-05");
  EXPECT_EQ(PrometheusValue(1764871234.25), "1764871234.25");
  EXPECT_EQ(PrometheusValue(1e20), "1e+20");
  EXPECT_EQ(PrometheusValue(-0.0), "-0");
  EXPECT_EQ(PrometheusValue(std::nan("")), "NaN");
  EXPECT_EQ(PrometheusValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusEscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

}  // namespace
}  // namespace r1
