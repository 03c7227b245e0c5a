// The scheduler's Prometheus endpoint through the real binary: `r1 run` with
// cluster.metrics_address 127.0.0.1:0 writes RUN_DIR/metrics.addr, /metrics is scraped over
// loopback while a stage runs (stage state, step, the latest step metrics, the worker's liveness
// and heartbeat age), and the endpoint is gone once the run ends; the in-process launcher serves
// the stages too; a port in use is an error naming the key. Loopback only; every wait is bounded.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/file_util.h"
#include "base/subprocess.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// METRICS_ADDRESS and LAUNCHER are filled in per test.
constexpr char kConfig[] = R"(run: {name: scraped, seed: 3}
model:
  architecture: {hidden_size: 32, num_layers: 1, num_heads: 2, num_kv_heads: 1,
                 intermediate_size: 64, max_position_embeddings: 256}
  tokenizer: byte
cluster: {metrics_address: "METRICS_ADDRESS", launcher: LAUNCHER, heartbeat_interval_s: 0.5, worker_timeout_s: 10,
          max_stage_attempts: 1}
datasets:
  corpus: {synthetic: {kind: arithmetic, count: 64, seed: 1, options: {max_digits: 1}}}
stages:
  - name: pretrain
    type: pretrain
    inputs: {datasets: [corpus]}
    pretrain: {optimizer: {lr: 3.0e-3}, batch_size: 8, steps: 400, checkpoint_every: 1000}
)";

// Connects to 127.0.0.1:`port` (reads and writes time out after 5 s); -1 when refused.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The whole response to GET /metrics; "" when the connection is refused.
std::string Scrape(int port) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// The value of the sample whose name and labels are exactly `series`; NaN when absent.
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line, &v)) return v;
  }
  return std::nan("");
}

// The lines starting with `prefix`.
std::vector<std::string> Lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, prefix)) out.emplace_back(line);
  }
  return out;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/r1_metrics_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!HasFailure()) RemoveAll(dir_).IgnoreError();
  }

  std::string WriteConfig(const std::string& metrics_address,
                          const std::string& launcher = "mpirun") {
    const std::string path = JoinPath(dir_, "scraped.yaml");
    EXPECT_TRUE(
        WriteFileAtomic(path, absl::StrReplaceAll(kConfig, {{"METRICS_ADDRESS", metrics_address},
                                                            {"LAUNCHER", launcher}}))
            .ok());
    return path;
  }

  // The metrics port from RUN_DIR/metrics.addr, once the run has written it (bounded wait);
  // 0 when it did not. `address` receives the file's HOST:PORT.
  static int WaitForMetricsPort(const std::string& run_dir, std::string* address) {
    for (absl::Time end = absl::Now() + absl::Minutes(1); absl::Now() < end;) {
      *address = std::string(absl::StripTrailingAsciiWhitespace(
          ReadFile(JoinPath(run_dir, "metrics.addr")).value_or("")));
      int port = 0;
      if (absl::StartsWith(*address, "127.0.0.1:") &&
          absl::SimpleAtoi(address->substr(address->rfind(':') + 1), &port)) {
        return port;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return 0;
  }

  // Scrapes until the pretrain stage runs and has reported a step with its loss (bounded; fails
  // the test when the run ends first). Returns the last response.
  static std::string ScrapeUntilStepped(Subprocess& run, int port, const std::string& log) {
    std::string response;
    for (absl::Time end = absl::Now() + absl::Minutes(3); absl::Now() < end;) {
      response = Scrape(port);
      if (Sample(response, R"(r1_stage_state{stage="pretrain",type="pretrain",state="running"})") ==
              1 &&
          !std::isnan(Sample(response, R"(r1_stage_metric{stage="pretrain",name="loss"})")) &&
          Sample(response, R"(r1_stage_step{stage="pretrain"})") >= 1) {
        return response;
      }
      if (!run.running()) {
        ADD_FAILURE() << "the run ended before a step was scraped:\n"
                      << ReadFile(log).value_or("") << "\nlast scrape:\n"
                      << response;
        return response;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "no step scraped in 3 minutes; last scrape:\n" << response;
    return response;
  }

  // Checks the stage lines of a scrape taken while pretrain runs.
  static void ExpectPretrainRunning(const std::string& response, const std::string& run_dir) {
    ASSERT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n")) << response;
    EXPECT_THAT(response, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4"));
    const std::string body = response.substr(response.find("\r\n\r\n") + 4);
    EXPECT_EQ(Sample(body, R"(r1_stage_state{stage="pretrain",type="pretrain",state="running"})"),
              1)
        << body;
    EXPECT_EQ(Sample(body, R"(r1_stage_state{stage="pretrain",type="pretrain",state="pending"})"),
              0)
        << body;
    const double step = Sample(body, R"(r1_stage_step{stage="pretrain"})");
    EXPECT_GE(step, 1) << body;
    EXPECT_LE(step, 400) << body;
    EXPECT_EQ(Sample(body, R"(r1_stage_total_steps{stage="pretrain"})"), 400) << body;
    EXPECT_EQ(Sample(body, R"(r1_stage_attempt{stage="pretrain"})"), 1) << body;
    const double loss = Sample(body, R"(r1_stage_metric{stage="pretrain",name="loss"})");
    EXPECT_TRUE(std::isfinite(loss) && loss > 0) << body;
    EXPECT_EQ(Sample(body, R"(r1_run_info{run="scraped",run_dir=")" + run_dir + R"("})"), 1)
        << body;
    EXPECT_EQ(Sample(body, "r1_run_finished"), 0) << body;
  }

  // Starts `r1 run CONFIG --run-dir RUN_DIR` in the background, output to `log`.
  Subprocess StartRun(const std::string& config, const std::string& run_dir,
                      const std::string& log) {
    SpawnOptions options;
    options.log_file = log;
    options.env = {{"OPENBLAS_NUM_THREADS", "1"}, {"R1_THREADS", "1"}};
    absl::StatusOr<Subprocess> p =
        Subprocess::Spawn({R1_BINARY_DIR "/cli/r1", "run", config, "--run-dir", run_dir}, options);
    EXPECT_TRUE(p.ok()) << p.status();
    return *std::move(p);
  }

  std::string dir_;
};

TEST_F(MetricsEndpointTest, ScrapedOverLoopbackWhileTheRunIsInProgress) {
  const std::string run_dir = JoinPath(dir_, "run"), log = JoinPath(dir_, "run.log");
  Subprocess run = StartRun(WriteConfig("127.0.0.1:0"), run_dir, log);

  // The bound address is in RUN_DIR/metrics.addr once the scheduler is up.
  std::string address;
  const int port = WaitForMetricsPort(run_dir, &address);
  ASSERT_GT(port, 0) << address << "\n" << ReadFile(log).value_or("");
  const std::string response = ScrapeUntilStepped(run, port, log);
  ExpectPretrainRunning(response, run_dir);
  const std::string body = response.substr(response.find("\r\n\r\n") + 4);
  EXPECT_EQ(Sample(body, "r1_workers"), 1) << body;
  // `r1 status --run-dir` shows where to scrape while the run goes.
  const std::string status_log = JoinPath(dir_, "status.log");
  SpawnOptions status_options;
  status_options.log_file = status_log;
  absl::StatusOr<Subprocess> status = Subprocess::Spawn(
      {R1_BINARY_DIR "/cli/r1", "status", "--run-dir", run_dir}, status_options);
  ASSERT_TRUE(status.ok()) << status.status();
  absl::StatusOr<ExitInfo> status_exit = status->Wait(absl::Seconds(30));
  ASSERT_TRUE(status_exit.ok() && status_exit->exit_code == 0) << ReadFile(status_log).value_or("");
  EXPECT_THAT(ReadFile(status_log).value_or(""),
              HasSubstr(absl::StrCat("metrics (Prometheus): http://", address, "/metrics")));
  // The one worker: rank 0, alive, heartbeating every 0.5 s.
  std::vector<std::string> up = Lines(body, "r1_worker_up{");
  ASSERT_EQ(up.size(), 1u) << body;
  EXPECT_THAT(up[0], StartsWith(R"(r1_worker_up{worker="w0",rank="0",host=")"));
  EXPECT_THAT(up[0], HasSubstr(R"(roles="trainer,rollout,reward"} 1)"));
  std::vector<std::string> age = Lines(body, "r1_worker_heartbeat_age_seconds{");
  ASSERT_EQ(age.size(), 1u) << body;
  double age_seconds = -1;
  ASSERT_TRUE(absl::SimpleAtod(age[0].substr(age[0].rfind(' ') + 1), &age_seconds)) << age[0];
  EXPECT_GE(age_seconds, 0);
  EXPECT_LT(age_seconds, 10);  // worker_timeout_s: a live worker is younger
  // Only GET /metrics is served.
  const int fd = Connect(port);
  ASSERT_GE(fd, 0);
  const std::string other = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(send(fd, other.data(), other.size(), MSG_NOSIGNAL), static_cast<ssize_t>(other.size()));
  char buffer[64] = {};
  ASSERT_GT(recv(fd, buffer, sizeof(buffer) - 1, 0), 0);
  close(fd);
  EXPECT_THAT(std::string(buffer), StartsWith("HTTP/1.1 404 "));

  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(4));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  ASSERT_TRUE(exit.ok() && exit->exited && exit->exit_code == 0) << ReadFile(log).value_or("");
  EXPECT_THAT(ReadFile(log).value_or(""),
              HasSubstr(absl::StrCat("metrics (Prometheus) on http://", address, "/metrics")));
  // Stopped with the run: nothing listens there any more.
  EXPECT_EQ(Connect(port), -1);
}

// launcher in_process has no scheduler: `r1 run` serves the same stage metrics itself, with no
// workers.
TEST_F(MetricsEndpointTest, InProcessRunsServeTheStagesWithoutWorkers) {
  const std::string run_dir = JoinPath(dir_, "run"), log = JoinPath(dir_, "run.log");
  Subprocess run = StartRun(WriteConfig("127.0.0.1:0", "in_process"), run_dir, log);
  std::string address;
  const int port = WaitForMetricsPort(run_dir, &address);
  ASSERT_GT(port, 0) << address << "\n" << ReadFile(log).value_or("");
  const std::string response = ScrapeUntilStepped(run, port, log);
  ExpectPretrainRunning(response, run_dir);
  EXPECT_THAT(response, HasSubstr("\nr1_workers 0\n"));
  EXPECT_THAT(response, Not(HasSubstr("r1_worker_up{")));
  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(4));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  ASSERT_TRUE(exit.ok() && exit->exited && exit->exit_code == 0) << ReadFile(log).value_or("");
  EXPECT_THAT(ReadFile(log).value_or(""),
              HasSubstr(absl::StrCat("metrics (Prometheus) on http://", address, "/metrics")));
  EXPECT_EQ(Connect(port), -1);
}

TEST_F(MetricsEndpointTest, APortInUseIsAnErrorNamingTheKey) {
  // Hold a listening port for the run to collide with.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string taken = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));

  const std::string run_dir = JoinPath(dir_, "run"), log = JoinPath(dir_, "run.log");
  Subprocess run = StartRun(WriteConfig(taken), run_dir, log);
  absl::StatusOr<ExitInfo> exit = run.Wait(absl::Minutes(2));
  if (!exit.ok()) run.Terminate(absl::Seconds(5));
  close(holder);
  const std::string output = ReadFile(log).value_or("");
  ASSERT_TRUE(exit.ok() && exit->exited) << output;
  EXPECT_EQ(exit->exit_code, 1) << output;
  EXPECT_THAT(output, HasSubstr(absl::StrCat("cluster.metrics_address: cannot listen on ", taken,
                                             ": Address already in use")));
  EXPECT_FALSE(PathExists(JoinPath(run_dir, "metrics.addr")));
}

}  // namespace
}  // namespace r1
