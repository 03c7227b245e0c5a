// WorkerRegistry (ids, roles, heartbeats, the dead-worker timeout on a fake clock, waiting for
// workers), StatusBoard (stage transitions, ETA, versions) and the run token helpers.
#include "scheduler/worker_registry.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/registration.h"
#include "scheduler/run_token.h"
#include "scheduler/status_board.h"

namespace r1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A clock the test moves by hand.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1000);
  std::function<absl::Time()> Fn() {
    return [this] { return now; };
  }
};

WorkerInfo Offer(const std::string& address, std::vector<std::string> roles, int32_t rank = -1) {
  WorkerInfo info;
  info.address = address;
  info.host = "node1";
  info.offered_roles = std::move(roles);
  info.mpi_rank = rank;
  return info;
}

TEST(WorkerRegistryTest, AssignsIdsInOrderAndOfferedRolesByDefault) {
  FakeClock clock;
  WorkerRegistry registry({absl::Seconds(30), nullptr, clock.Fn()});
  auto a = registry.Register(Offer("127.0.0.1:1", {"trainer", "rollout"}));
  auto b = registry.Register(Offer("127.0.0.1:2", {"reward"}));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->id, "w0");
  EXPECT_EQ(b->id, "w1");
  EXPECT_THAT(a->roles, ElementsAre("trainer", "rollout"));
  EXPECT_EQ(a->registered_at, clock.now);
  EXPECT_EQ(a->last_heartbeat, clock.now);
  EXPECT_TRUE(a->alive);
  EXPECT_TRUE(registry.IsRegistered("w1"));
  EXPECT_FALSE(registry.IsRegistered("w2"));
  std::vector<WorkerInfo> all = registry.Snapshot();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].address, "127.0.0.1:1");
  EXPECT_EQ(all[1].address, "127.0.0.1:2");
}

TEST(WorkerRegistryTest, RolesFromTheAssignerAndRefusal) {
  WorkerRegistryOptions options;
  options.assign_roles = [](const WorkerInfo& info) -> absl::StatusOr<RoleAssignment> {
    if (info.mpi_rank < 0) return absl::FailedPreconditionError("no mpi rank");
    if (info.mpi_rank < 2) return RoleAssignment{{"trainer"}, 0};
    return RoleAssignment{{"rollout"}, 1};
  };
  WorkerRegistry registry(options);
  auto r0 = registry.Register(Offer("h:1", {"trainer", "rollout"}, 0));
  auto r2 = registry.Register(Offer("h:3", {"trainer", "rollout"}, 2));
  ASSERT_TRUE(r0.ok() && r2.ok());
  EXPECT_THAT(r0->roles, ElementsAre("trainer"));
  EXPECT_THAT(r2->roles, ElementsAre("rollout"));
  EXPECT_EQ(r0->group, 0);
  EXPECT_EQ(r2->group, 1);
  EXPECT_THAT(r2->offered_roles, ElementsAre("trainer", "rollout"));
  auto refused = registry.Register(Offer("h:9", {"trainer"}, -1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.Snapshot().size(), 2u);
}

TEST(WorkerRegistryTest, ConcurrentRegistrationsSeeEachOtherInTheAssigner) {
  WorkerRegistry* self = nullptr;
  WorkerRegistryOptions options;
  // Rank = number registered before: unique only if registrations are serialized.
  options.assign_roles = [&self](const WorkerInfo&) -> absl::StatusOr<RoleAssignment> {
    const size_t rank = self->Snapshot().size();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return RoleAssignment{{absl::StrCat("rank", rank)}, 0};
  };
  WorkerRegistry registry(options);
  self = &registry;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&registry, i] {
      ASSERT_TRUE(registry.Register(Offer(absl::StrCat("h:", i), {"trainer"})).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> roles;
  for (const WorkerInfo& w : registry.Snapshot()) roles.insert(w.roles[0]);
  EXPECT_EQ(roles.size(), 8u);
}

TEST(WorkerRegistryTest, RejectsNoAddressAndNoRoles) {
  WorkerRegistry registry({});
  auto no_address = registry.Register(Offer("", {"trainer"}));
  EXPECT_EQ(no_address.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_address.status().message(), HasSubstr("address"));
  auto no_roles = registry.Register(Offer("h:1", {}));
  EXPECT_EQ(no_roles.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_roles.status().message(), HasSubstr("h:1"));
  EXPECT_TRUE(registry.Snapshot().empty());
}

TEST(WorkerRegistryTest, HeartbeatUnknownAndDead) {
  FakeClock clock;
  WorkerRegistry registry({absl::Seconds(10), nullptr, clock.Fn()});
  ASSERT_TRUE(registry.Register(Offer("h:1", {"trainer"})).ok());
  EXPECT_EQ(registry.Heartbeat("w7").code(), absl::StatusCode::kNotFound);
  clock.now += absl::Seconds(4);
  EXPECT_TRUE(registry.Heartbeat("w0").ok());
  EXPECT_EQ(registry.Snapshot()[0].last_heartbeat, clock.now);
  registry.MarkDead("w0");
  EXPECT_EQ(registry.Heartbeat("w0").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(registry.Snapshot()[0].alive);
}

TEST(WorkerRegistryTest, ALiveWorkersRankIsNotRegisteredTwice) {
  WorkerRegistry registry({absl::Seconds(10), nullptr, nullptr});
  WorkerInfo first = Offer("h:1", {"trainer"}, 1);
  first.mpi_world_size = 2;
  ASSERT_TRUE(registry.Register(first).ok());
  WorkerInfo again = Offer("h:2", {"trainer"}, 1);
  again.mpi_world_size = 2;
  absl::StatusOr<WorkerInfo> refused = registry.Register(again);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);  // the worker retries
  EXPECT_THAT(refused.status().message(),
              HasSubstr("worker rank 1 is held by live worker w0 at h:1 (host \"node1\")"));
  EXPECT_EQ(registry.WaitForWorkers(2, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);  // one rank 1 is not two workers
  registry.MarkDead("w0");
  absl::StatusOr<WorkerInfo> restarted = registry.Register(again);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ(restarted->id, "w1");
}

TEST(RegistrationTest, RolesByRankOrRegistrationOrder) {
  ClusterConfig cluster;
  cluster.trainer_ranks = 2;
  cluster.placement = Placement::kDisaggregated;
  cluster.rollout_workers = 1;
  EXPECT_EQ(ExpectedWorkers(cluster), 3);
  WorkerInfo ranked = Offer("h:1", {}, 2);
  EXPECT_THAT(AssignRolesByRank(cluster, ranked, 0)->roles, ElementsAre("rollout", "weight_sync"));
  WorkerInfo rankless = Offer("h:1", {});
  EXPECT_THAT(AssignRolesByRank(cluster, rankless, 0)->roles,
              ElementsAre("trainer", "reward", "weight_sync"));
  EXPECT_THAT(AssignRolesByRank(cluster, rankless, 1)->roles, ElementsAre("trainer", "reward"));
  EXPECT_THAT(AssignRolesByRank(cluster, rankless, 3).status().message(),
              HasSubstr("worker rank 3 is beyond the 3 workers"));
  EXPECT_FALSE(AssignRolesByRank(cluster, Offer("h:1", {}, 7), 0).ok());

  // Two worker groups: ranks 0-2 and 3-5, each shaped like the one above.
  cluster.worker_groups = 2;
  EXPECT_EQ(WorkersPerGroup(cluster), 3);
  EXPECT_EQ(ExpectedWorkers(cluster), 6);
  const std::vector<std::vector<std::string>> roles = {
      {"trainer", "reward", "weight_sync"}, {"trainer", "reward"}, {"rollout", "weight_sync"}};
  for (int32_t rank = 0; rank < 6; ++rank) {
    absl::StatusOr<RoleAssignment> a = AssignWorkerRoles(cluster, rank);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->group, rank / 3) << rank;
    EXPECT_EQ(a->roles, roles[static_cast<size_t>(rank % 3)]) << rank;
  }
  EXPECT_THAT(AssignWorkerRoles(cluster, 6).status().message(),
              HasSubstr("worker rank 6 is beyond the 6 workers"));

  v1::RegisterRequest request;
  request.set_address("10.0.0.1:5000");
  request.set_host("node3");
  request.add_roles("trainer");
  request.set_mpi_rank(1);
  request.set_mpi_world_size(3);
  request.set_pid(77);
  request.mutable_resources()->set_gpus(8);
  request.set_unusable("no GPU");
  WorkerInfo info = WorkerInfoFromRegisterRequest(request);
  EXPECT_EQ(info.address, "10.0.0.1:5000");
  EXPECT_EQ(info.host, "node3");
  EXPECT_THAT(info.offered_roles, ElementsAre("trainer"));
  EXPECT_EQ(info.mpi_rank, 1);
  EXPECT_EQ(info.mpi_world_size, 3);
  EXPECT_EQ(info.pid, 77);
  EXPECT_EQ(info.gpus, 8);
  EXPECT_EQ(info.unusable, "no GPU");
}

TEST(WorkerRegistryTest, SweepDeclaresSilentWorkersDeadOnce) {
  FakeClock clock;
  WorkerRegistry registry({absl::Seconds(10), nullptr, clock.Fn()});
  ASSERT_TRUE(registry.Register(Offer("h:1", {"trainer"})).ok());
  ASSERT_TRUE(registry.Register(Offer("h:2", {"rollout"})).ok());
  clock.now += absl::Seconds(6);
  ASSERT_TRUE(registry.Heartbeat("w1").ok());  // w1 at t=6, w0 silent since t=0
  clock.now += absl::Seconds(3);               // t=9: nobody silent for 10 s yet
  EXPECT_TRUE(registry.SweepDead().empty());
  clock.now += absl::Seconds(1);  // t=10: w0 silent 10 s
  std::vector<WorkerInfo> dead = registry.SweepDead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "w0");
  EXPECT_FALSE(dead[0].alive);
  EXPECT_TRUE(registry.SweepDead().empty());  // reported once
  clock.now += absl::Seconds(6);              // t=16: w1 silent 10 s
  dead = registry.SweepDead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "w1");
}

TEST(WorkerRegistryTest, WaitForWorkersReturnsWhenEnoughRegister) {
  WorkerRegistry registry({});
  ASSERT_TRUE(registry.Register(Offer("h:1", {"trainer"})).ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(registry.Register(Offer("h:2", {"rollout"})).ok());
  });
  auto workers = registry.WaitForWorkers(2, absl::Seconds(10));
  late.join();
  ASSERT_TRUE(workers.ok()) << workers.status();
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].id, "w0");
  EXPECT_EQ((*workers)[1].id, "w1");
}

TEST(WorkerRegistryTest, AnUnusableWorkerIsRegisteredAndEndsTheWaitWithItsReason) {
  WorkerRegistry registry({});
  EXPECT_TRUE(registry.CheckUsable().ok());
  WorkerInfo usable = Offer("h:1", {"trainer"}, 1);
  ASSERT_TRUE(registry.Register(usable).ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    WorkerInfo broken = Offer("h:2", {"trainer"}, 0);
    broken.unusable = "cannot use device cuda: this LibTorch was built without CUDA";
    ASSERT_TRUE(registry.Register(broken).ok());  // registered: it learns its id, then exits
  });
  const absl::Time start = absl::Now();
  auto workers = registry.WaitForWorkers(3, absl::Seconds(30));
  late.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // at once, not after the timeout
  ASSERT_EQ(workers.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(workers.status().message(),
            "worker rank 0 (host node1) cannot use device cuda: this LibTorch was built without "
            "CUDA");
  EXPECT_EQ(registry.CheckUsable(), workers.status());
  // Without a launcher rank the worker is named by its id.
  WorkerRegistry unranked({});
  WorkerInfo broken = Offer("h:3", {"trainer"});
  broken.unusable = "cannot use device cuda:1: only 1 CUDA device is visible";
  ASSERT_TRUE(unranked.Register(broken).ok());
  EXPECT_THAT(unranked.CheckUsable().message(), HasSubstr("worker w0 (host node1) cannot use"));
}

TEST(WorkerRegistryTest, WaitForWorkersTimesOutSayingHowMany) {
  WorkerRegistry registry({});
  ASSERT_TRUE(registry.Register(Offer("h:1", {"trainer"})).ok());
  ASSERT_TRUE(registry.Register(Offer("h:2", {"trainer"})).ok());
  registry.MarkDead("w1");  // dead workers do not count
  const absl::Time start = absl::Now();
  auto workers = registry.WaitForWorkers(3, absl::Milliseconds(100));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(workers.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(workers.status().message(), HasSubstr("1 of 3"));
  EXPECT_GE(waited, absl::Milliseconds(90));
  EXPECT_LT(waited, absl::Seconds(5));
}

TEST(WorkerRegistryTest, ClearForgetsWorkersButNeverReusesIds) {
  WorkerRegistry registry({});
  ASSERT_TRUE(registry.Register(Offer("h:1", {"trainer"})).ok());
  registry.Clear();
  EXPECT_TRUE(registry.Snapshot().empty());
  EXPECT_FALSE(registry.IsRegistered("w0"));
  auto again = registry.Register(Offer("h:1", {"trainer"}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, "w1");
  EXPECT_TRUE(registry.keep_running());
  registry.set_keep_running(false);
  EXPECT_FALSE(registry.keep_running());
}

std::vector<StageRef> TwoStages() { return {{"sft", "sft", 10}, {"rl", "grpo", 0}}; }

TEST(StatusBoardTest, StageStateNames) {
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_PENDING), "pending");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_RUNNING), "running");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_SUCCEEDED), "succeeded");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_FAILED), "failed");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_SKIPPED), "skipped");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_CANCELLED), "cancelled");
  EXPECT_EQ(StageStateName(v1::STAGE_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(StageStateName(static_cast<v1::StageState>(99)), "unknown");
}

TEST(StatusBoardTest, StartsPendingInDagOrder) {
  StatusBoard board("/runs/a", "a", TwoStages());
  v1::RunStatus s = board.Snapshot({});
  EXPECT_EQ(s.run_dir(), "/runs/a");
  EXPECT_EQ(s.run_name(), "a");
  ASSERT_EQ(s.stages_size(), 2);
  EXPECT_EQ(s.stages(0).name(), "sft");
  EXPECT_EQ(s.stages(1).type(), "grpo");
  EXPECT_EQ(s.stages(0).state(), v1::STAGE_STATE_PENDING);
  EXPECT_EQ(s.stages(0).total_steps(), 10);
  EXPECT_EQ(s.stages(0).eta_seconds(), -1);
  EXPECT_EQ(s.stages(0).started_at_unix(), 0);
  EXPECT_FALSE(s.finished());
}

TEST(StatusBoardTest, ProgressGivesMetricsAndEta) {
  FakeClock clock;
  StatusBoard board("/r", "r", TwoStages());
  board.set_clock(clock.Fn());
  board.StageRunning("sft", 1);
  clock.now += absl::Seconds(2);
  board.StageProgress("sft", 1, 0, {{"loss", 2.5}});  // 2 s for 1 step, 9 left: 18 s
  v1::StageStatus s = board.Snapshot({}).stages(0);
  EXPECT_EQ(s.state(), v1::STAGE_STATE_RUNNING);
  EXPECT_EQ(s.attempt(), 1);
  EXPECT_EQ(s.step(), 1);
  EXPECT_EQ(s.total_steps(), 10);
  EXPECT_DOUBLE_EQ(s.started_at_unix(), 1000);
  EXPECT_DOUBLE_EQ(s.eta_seconds(), 18);
  ASSERT_EQ(s.latest_metrics_size(), 1);
  EXPECT_EQ(s.latest_metrics(0).name(), "loss");
  EXPECT_DOUBLE_EQ(s.latest_metrics(0).value(), 2.5);
  clock.now += absl::Seconds(8);
  board.StageProgress("sft", 5, 0, {{"loss", 1.0}});  // (10-2) s / (5-1) steps = 2 s, 5 left
  s = board.Snapshot({}).stages(0);
  EXPECT_DOUBLE_EQ(s.eta_seconds(), 10);
  EXPECT_DOUBLE_EQ(s.latest_metrics(0).value(), 1.0);
  // A stage without a known total has no ETA until it reports one.
  board.StageRunning("rl", 1);
  board.StageProgress("rl", 1, 0, {});
  EXPECT_EQ(board.Snapshot({}).stages(1).eta_seconds(), -1);
  clock.now += absl::Seconds(3);
  board.StageProgress("rl", 2, 4, {});  // 3 s per step, 2 left
  EXPECT_DOUBLE_EQ(board.Snapshot({}).stages(1).eta_seconds(), 6);
  EXPECT_EQ(board.Snapshot({}).stages(1).total_steps(), 4);
}

TEST(StatusBoardTest, RetryKeepsTheErrorThenFailsOrSucceeds) {
  StatusBoard board("/r", "r", TwoStages());
  board.StageRunning("sft", 1);
  board.StageProgress("sft", 3, 0, {{"loss", 1}});
  board.StageFailed("sft", "worker w0 died", /*final=*/false);
  v1::StageStatus s = board.Snapshot({}).stages(0);
  EXPECT_EQ(s.state(), v1::STAGE_STATE_RUNNING);
  EXPECT_EQ(s.error(), "worker w0 died");
  board.StageRunning("sft", 2);
  s = board.Snapshot({}).stages(0);
  EXPECT_EQ(s.attempt(), 2);
  EXPECT_EQ(s.step(), 0);
  EXPECT_EQ(s.latest_metrics_size(), 0);
  EXPECT_EQ(s.error(), "worker w0 died");
  board.StageSucceeded("sft");
  s = board.Snapshot({}).stages(0);
  EXPECT_EQ(s.state(), v1::STAGE_STATE_SUCCEEDED);
  EXPECT_EQ(s.error(), "");
  board.StageRunning("rl", 1);
  board.StageFailed("rl", "out of attempts", /*final=*/true);
  EXPECT_EQ(board.Snapshot({}).stages(1).state(), v1::STAGE_STATE_FAILED);
  board.StageCancelled("rl");
  EXPECT_EQ(board.Snapshot({}).stages(1).state(), v1::STAGE_STATE_CANCELLED);
  board.Finish(false);
  v1::RunStatus run = board.Snapshot({});
  EXPECT_TRUE(run.finished());
  EXPECT_FALSE(run.succeeded());
}

TEST(StatusBoardTest, SkippedOnResumeShowsAllSteps) {
  StatusBoard board("/r", "r", TwoStages());
  board.StageSucceeded("sft");
  v1::StageStatus s = board.Snapshot({}).stages(0);
  EXPECT_EQ(s.state(), v1::STAGE_STATE_SUCCEEDED);
  EXPECT_EQ(s.step(), 10);
  EXPECT_EQ(s.eta_seconds(), 0);
}

TEST(StatusBoardTest, SnapshotListsWorkers) {
  StatusBoard board("/r", "r", TwoStages());
  WorkerInfo w = Offer("10.0.0.2:5000", {"trainer"});
  w.id = "w0";
  w.roles = {"trainer"};
  w.last_heartbeat = absl::FromUnixSeconds(1234);
  w.alive = false;
  v1::RunStatus s = board.Snapshot({w});
  ASSERT_EQ(s.workers_size(), 1);
  EXPECT_EQ(s.workers(0).worker_id(), "w0");
  EXPECT_EQ(s.workers(0).address(), "10.0.0.2:5000");
  EXPECT_EQ(s.workers(0).host(), "node1");
  EXPECT_EQ(s.workers(0).roles(0), "trainer");
  EXPECT_DOUBLE_EQ(s.workers(0).last_heartbeat_unix(), 1234);
  EXPECT_FALSE(s.workers(0).alive());
}

TEST(StatusBoardTest, VersionBumpsAndWaitForChangeWakes) {
  StatusBoard board("/r", "r", TwoStages());
  const int64_t v0 = board.version();
  board.StageRunning("sft", 1);
  const int64_t v1 = board.version();
  EXPECT_GT(v1, v0);
  EXPECT_EQ(board.WaitForChange(v0, absl::Seconds(10)), v1);  // already changed: at once
  const absl::Time start = absl::Now();
  EXPECT_EQ(board.WaitForChange(v1, absl::Milliseconds(50)), v1);  // nothing: times out
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(40));
  std::thread feeder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    board.StageProgress("sft", 1, 0, {});
  });
  EXPECT_GT(board.WaitForChange(v1, absl::Seconds(10)), v1);
  feeder.join();
  board.Finish(true);
  const int64_t v2 = board.version();
  EXPECT_EQ(board.WaitForChange(v2, absl::Seconds(10)), v2);  // finished: returns at once
  EXPECT_TRUE(board.Snapshot({}).succeeded());
}

TEST(RunTokenTest, GeneratesDistinctHexTokens) {
  const std::string a = GenerateRunToken(), b = GenerateRunToken();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(RunTokenTest, FileIsPrivateAndReadsBack) {
  char tmpl[] = "/tmp/r1_token_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = JoinPath(dir, "token");
  ASSERT_TRUE(WriteRunTokenFile(path, "abc123").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto token = ReadRunToken(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "abc123");  // trailing newline stripped

  ASSERT_TRUE(WriteFileAtomic(JoinPath(dir, "empty"), " \n").ok());
  auto empty = ReadRunToken(JoinPath(dir, "empty"));
  EXPECT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr(JoinPath(dir, "empty")));
  auto missing = ReadRunToken(JoinPath(dir, "missing"));
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing"));
  ASSERT_TRUE(RemoveAll(dir).ok());
}

TEST(RunTokenTest, FromTheEnvironmentOrNotFound) {
  ::unsetenv("R1_TOKEN");
  auto none = ReadRunToken("");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("--token-file"));
  EXPECT_THAT(none.status().message(), HasSubstr("R1_TOKEN"));
  ::setenv("R1_TOKEN", "from-env", 1);
  auto env = ReadRunToken("");
  ::unsetenv("R1_TOKEN");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, "from-env");
}

}  // namespace
}  // namespace r1
