// The Scheduler service over loopback: the token on every RPC, heartbeats of strangers,
// register + heartbeat + GetStatus, WatchStatus streaming until the run finishes, Cancel, and
// the sweeper declaring a silent worker dead.
#include "scheduler/scheduler_service.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret";

class SchedulerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(absl::Seconds(30), absl::Milliseconds(20)); }

  void StartServer(absl::Duration dead_timeout, absl::Duration sweep_interval) {
    server_.reset();
    service_.reset();
    WorkerRegistryOptions options;
    options.dead_timeout = dead_timeout;
    registry_ = std::make_unique<WorkerRegistry>(options);
    board_ = std::make_unique<StatusBoard>(
        "/runs/t", "t", std::vector<StageRef>{{"sft", "sft", 4}, {"rl", "grpo", 2}});
    service_ = std::make_unique<SchedulerService>(registry_.get(), board_.get(), kToken,
                                                  [this](const std::string& reason) {
                                                    std::lock_guard<std::mutex> lock(mu_);
                                                    cancel_reasons_.push_back(reason);
                                                  });
    service_->set_heartbeat_interval(absl::Milliseconds(250));
    auto server = SchedulerServer::Start("127.0.0.1:0", service_.get(), registry_.get(),
                                         sweep_interval, [this](const WorkerInfo& info) {
                                           std::lock_guard<std::mutex> lock(mu_);
                                           dead_.push_back(info.id);
                                         });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::Scheduler::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    server_.reset();  // before the service, registry and board it uses
    service_.reset();
  }

  // A context with `token` (none when empty) and a 5 s deadline.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("r1-token", token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return context;
  }

  v1::RegisterResponse RegisterWorker(const std::string& address) {
    v1::RegisterRequest request;
    request.set_address(address);
    request.set_host("node1");
    request.add_roles("trainer");
    request.set_pid(42);
    v1::RegisterResponse response;
    grpc::Status s = stub_->Register(Context().get(), request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<StatusBoard> board_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<SchedulerServer> server_;
  std::unique_ptr<v1::Scheduler::Stub> stub_;
  std::mutex mu_;
  std::vector<std::string> cancel_reasons_, dead_;
};

TEST_F(SchedulerServiceTest, BindsToALoopbackPort) {
  EXPECT_THAT(server_->address(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(server_->address(), "127.0.0.1:0");
}

TEST_F(SchedulerServiceTest, EveryRpcRefusesAMissingOrWrongToken) {
  for (const std::string token : {"", "wrong"}) {
    SCOPED_TRACE("token \"" + token + "\"");
    v1::RegisterRequest reg;
    reg.set_address("127.0.0.1:1");
    reg.add_roles("trainer");
    v1::RegisterResponse reg_response;
    EXPECT_EQ(stub_->Register(Context(token).get(), reg, &reg_response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::HeartbeatRequest hb;
    hb.set_worker_id("w0");
    v1::HeartbeatResponse hb_response;
    EXPECT_EQ(stub_->Heartbeat(Context(token).get(), hb, &hb_response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::RunStatus status;
    EXPECT_EQ(stub_->GetStatus(Context(token).get(), {}, &status).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    auto context = Context(token);
    auto reader = stub_->WatchStatus(context.get(), {});
    EXPECT_FALSE(reader->Read(&status));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
    v1::CancelResponse cancel_response;
    EXPECT_EQ(stub_->Cancel(Context(token).get(), {}, &cancel_response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(registry_->Snapshot().empty());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_TRUE(cancel_reasons_.empty());
}

TEST_F(SchedulerServiceTest, HeartbeatOfAStrangerIsPermissionDenied) {
  v1::HeartbeatRequest request;
  request.set_worker_id("w9");
  v1::HeartbeatResponse response;
  grpc::Status s = stub_->Heartbeat(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("w9"));
}

TEST_F(SchedulerServiceTest, RegisterWithoutAddressIsInvalid) {
  v1::RegisterRequest request;
  request.add_roles("trainer");
  v1::RegisterResponse response;
  EXPECT_EQ(stub_->Register(Context().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SchedulerServiceTest, RegisterHeartbeatAndStatusShowTheWorker) {
  v1::RegisterResponse reg = RegisterWorker("127.0.0.1:5555");
  EXPECT_EQ(reg.worker_id(), "w0");
  ASSERT_EQ(reg.roles_size(), 1);
  EXPECT_EQ(reg.roles(0), "trainer");
  EXPECT_EQ(reg.heartbeat_interval_ms(), 250);

  v1::HeartbeatRequest hb;
  hb.set_worker_id("w0");
  v1::HeartbeatResponse hb_response;
  ASSERT_TRUE(stub_->Heartbeat(Context().get(), hb, &hb_response).ok());
  EXPECT_TRUE(hb_response.keep_running());
  registry_->set_keep_running(false);
  ASSERT_TRUE(stub_->Heartbeat(Context().get(), hb, &hb_response).ok());
  EXPECT_FALSE(hb_response.keep_running());

  board_->StageRunning("sft", 1);
  board_->StageProgress("sft", 2, 0, {{"loss", 0.5}});
  v1::RunStatus status;
  ASSERT_TRUE(stub_->GetStatus(Context().get(), {}, &status).ok());
  EXPECT_EQ(status.run_name(), "t");
  ASSERT_EQ(status.stages_size(), 2);
  EXPECT_EQ(status.stages(0).state(), v1::STAGE_STATE_RUNNING);
  EXPECT_EQ(status.stages(0).step(), 2);
  EXPECT_EQ(status.stages(0).latest_metrics(0).name(), "loss");
  ASSERT_EQ(status.workers_size(), 1);
  EXPECT_EQ(status.workers(0).worker_id(), "w0");
  EXPECT_EQ(status.workers(0).address(), "127.0.0.1:5555");
  EXPECT_EQ(status.workers(0).host(), "node1");
  EXPECT_TRUE(status.workers(0).alive());
  EXPECT_NEAR(status.workers(0).last_heartbeat_unix(), absl::ToUnixSeconds(absl::Now()), 10);
}

TEST_F(SchedulerServiceTest, WatchStatusStreamsChangesAndEndsWhenTheRunFinishes) {
  auto context = Context();
  v1::WatchStatusRequest request;
  request.set_min_interval_ms(10);
  auto reader = stub_->WatchStatus(context.get(), request);
  v1::RunStatus status;
  ASSERT_TRUE(reader->Read(&status));  // the first snapshot at once
  EXPECT_EQ(status.stages(0).state(), v1::STAGE_STATE_PENDING);
  board_->StageRunning("sft", 1);
  ASSERT_TRUE(reader->Read(&status));
  EXPECT_EQ(status.stages(0).state(), v1::STAGE_STATE_RUNNING);
  board_->StageSucceeded("sft");
  board_->StageSucceeded("rl");
  board_->Finish(true);
  // Read until the stream ends; the last snapshot is the finished run.
  int reads = 0;
  while (reader->Read(&status) && ++reads < 100) {
  }
  EXPECT_LT(reads, 100);
  EXPECT_TRUE(status.finished());
  EXPECT_TRUE(status.succeeded());
  EXPECT_EQ(status.stages(1).state(), v1::STAGE_STATE_SUCCEEDED);
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(SchedulerServiceTest, WatchStatusRespectsTheMinimumInterval) {
  auto context = Context();
  v1::WatchStatusRequest request;
  request.set_min_interval_ms(300);
  auto reader = stub_->WatchStatus(context.get(), request);
  v1::RunStatus status;
  ASSERT_TRUE(reader->Read(&status));
  const absl::Time first = absl::Now();
  board_->StageRunning("sft", 1);
  ASSERT_TRUE(reader->Read(&status));
  EXPECT_GE(absl::Now() - first, absl::Milliseconds(250));
  context->TryCancel();
  while (reader->Read(&status)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(SchedulerServiceTest, ShutdownEndsOpenStreams) {
  auto context = Context();
  auto reader = stub_->WatchStatus(context.get(), {});
  v1::RunStatus status;
  ASSERT_TRUE(reader->Read(&status));
  const absl::Time start = absl::Now();
  server_.reset();  // must not hang on the open stream
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  while (reader->Read(&status)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
}

TEST_F(SchedulerServiceTest, CancelCallsTheHandlerWithTheReason) {
  v1::CancelRequest request;
  request.set_reason("user asked");
  v1::CancelResponse response;
  ASSERT_TRUE(stub_->Cancel(Context().get(), request, &response).ok());
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(cancel_reasons_.size(), 1u);
  EXPECT_EQ(cancel_reasons_[0], "user asked");
}

TEST_F(SchedulerServiceTest, SweeperDeclaresASilentWorkerDead) {
  StartServer(absl::Milliseconds(200), absl::Milliseconds(20));
  RegisterWorker("127.0.0.1:7000");  // w0: goes silent
  RegisterWorker("127.0.0.1:7001");  // w1: keeps beating
  const absl::Time start = absl::Now();
  bool w0_dead = false;
  while (!w0_dead && absl::Now() - start < absl::Seconds(5)) {
    v1::HeartbeatRequest hb;
    hb.set_worker_id("w1");
    v1::HeartbeatResponse response;
    EXPECT_TRUE(stub_->Heartbeat(Context().get(), hb, &response).ok());
    absl::SleepFor(absl::Milliseconds(30));
    std::lock_guard<std::mutex> lock(mu_);
    w0_dead = !dead_.empty();
  }
  ASSERT_TRUE(w0_dead);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_THAT(dead_, ::testing::ElementsAre("w0"));
  }
  v1::RunStatus status;
  ASSERT_TRUE(stub_->GetStatus(Context().get(), {}, &status).ok());
  ASSERT_EQ(status.workers_size(), 2);
  EXPECT_FALSE(status.workers(0).alive());
  EXPECT_TRUE(status.workers(1).alive());
  // A dead worker's heartbeat is refused: it should exit.
  v1::HeartbeatRequest hb;
  hb.set_worker_id("w0");
  v1::HeartbeatResponse response;
  EXPECT_EQ(stub_->Heartbeat(Context().get(), hb, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SchedulerServiceTest, AServiceCanBeServedAgainAfterAShutdown) {
  server_.reset();
  auto server = SchedulerServer::Start("127.0.0.1:0", service_.get(), registry_.get(),
                                       absl::Seconds(1), nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  stub_ = v1::Scheduler::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  auto context = Context();
  v1::WatchStatusRequest request;
  request.set_min_interval_ms(10);
  auto reader = stub_->WatchStatus(context.get(), request);
  v1::RunStatus status;
  ASSERT_TRUE(reader->Read(&status));
  board_->StageRunning("sft", 1);
  ASSERT_TRUE(reader->Read(&status));  // not ended by the old server's Shutdown()
  EXPECT_EQ(status.stages(0).state(), v1::STAGE_STATE_RUNNING);
  board_->Finish(true);
  while (reader->Read(&status)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

TEST(SchedulerServerTest, RefusesABadAddress) {
  WorkerRegistry registry({});
  StatusBoard board("/r", "r", {});
  SchedulerService service(&registry, &board, kToken, nullptr);
  auto server = SchedulerServer::Start("no-port", &service, &registry, absl::Seconds(1), nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("no-port"));
}

}  // namespace
}  // namespace r1
