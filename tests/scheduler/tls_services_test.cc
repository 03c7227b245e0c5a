// The Scheduler service and a Worker service over mutual TLS on 127.0.0.1, with the throwaway
// certificates of tests/data/tls: a client with the cluster's CA and a certificate it signed gets
// through (and still needs the token); a plaintext client, and a client whose certificate another
// CA signed, are refused before any RPC reaches the service.
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/grpc_worker_client.h"
#include "scheduler/scheduler_service.h"
#include "tests/stages/fake_worker.h"
#include "worker_api/tls_credentials.h"
#include "workers/service/worker_service.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "tls-test-token-0123456789";
const std::string kTlsDir = std::string(R1_SOURCE_DIR) + "/tests/data/tls";

// node<n>.pem/.key signed by ca<ca_n>.pem, the CA trusted.
TlsConfig Tls(int cert_n, int ca_n) {
  TlsConfig tls;
  tls.cert = absl::StrCat(kTlsDir, "/node", cert_n, ".pem");
  tls.key = absl::StrCat(kTlsDir, "/node", cert_n, ".key");
  tls.ca = absl::StrCat(kTlsDir, "/ca", ca_n, ".pem");
  return tls;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("r1-token", token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return context;
}

class TlsServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_unique<WorkerRegistry>(WorkerRegistryOptions{});
    board_ =
        std::make_unique<StatusBoard>("/runs/t", "t", std::vector<StageRef>{{"sft", "sft", 4}});
    service_ = std::make_unique<SchedulerService>(registry_.get(), board_.get(), kToken, nullptr);
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(Tls(1, 1));
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    auto server = SchedulerServer::Start("127.0.0.1:0", service_.get(), registry_.get(),
                                         absl::Seconds(1), nullptr, *credentials);
    ASSERT_TRUE(server.ok()) << server.status();
    scheduler_ = *std::move(server);

    // A Worker service served exactly as `r1 worker` serves it.
    worker_service_ = std::make_unique<WorkerService>(&backend_, kToken);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &worker_port_);
    builder.RegisterService(worker_service_.get());
    worker_server_ = builder.BuildAndStart();
    ASSERT_NE(worker_server_, nullptr);
    ASSERT_NE(worker_port_, 0);
  }

  void TearDown() override {
    if (worker_server_) worker_server_->Shutdown(std::chrono::system_clock::now());
    scheduler_.reset();
    service_.reset();
  }

  // GetStatus at the scheduler through `channel` with the run's token.
  grpc::Status GetStatus(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& token = kToken) {
    auto stub = v1::Scheduler::NewStub(channel);
    v1::RunStatus status;
    return stub->GetStatus(Context(token).get(), v1::GetStatusRequest(), &status);
  }

  // Tokenize at the worker through `channel`.
  absl::Status Tokenize(const std::shared_ptr<grpc::Channel>& channel) {
    GrpcWorkerClientOptions options;
    options.token = kToken;
    options.deadline = std::chrono::seconds(5);
    GrpcWorkerClient client(channel, options);
    return client.Tokenize({"hello"}).status();
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& address, const TlsConfig& tls) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(address, tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  std::string WorkerAddress() const { return absl::StrCat("127.0.0.1:", worker_port_); }

  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<StatusBoard> board_;
  std::unique_ptr<SchedulerService> service_;
  std::unique_ptr<SchedulerServer> scheduler_;
  FakeWorker backend_;
  std::unique_ptr<WorkerService> worker_service_;
  std::unique_ptr<grpc::Server> worker_server_;
  int worker_port_ = 0;
};

TEST_F(TlsServicesTest, ClientWithTheClusterCertificateGetsThrough) {
  EXPECT_TRUE(GetStatus(Channel(scheduler_->address(), Tls(1, 1))).ok());
  EXPECT_TRUE(Tokenize(Channel(WorkerAddress(), Tls(1, 1))).ok());
  // By name: the certificate's SAN holds localhost too.
  const std::string by_name = absl::StrCat(
      "localhost:", scheduler_->address().substr(scheduler_->address().rfind(':') + 1));
  EXPECT_TRUE(GetStatus(Channel(by_name, Tls(1, 1))).ok());
}

TEST_F(TlsServicesTest, TheTokenIsStillRequired) {
  grpc::Status s = GetStatus(Channel(scheduler_->address(), Tls(1, 1)), /*token=*/"");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = GetStatus(Channel(scheduler_->address(), Tls(1, 1)), "wrong-token");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TlsServicesTest, PlaintextClientIsRefused) {
  grpc::Status s = GetStatus(Channel(scheduler_->address(), TlsConfig{}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  absl::Status w = Tokenize(Channel(WorkerAddress(), TlsConfig{}));
  EXPECT_TRUE(absl::IsUnavailable(w)) << w;
  // A plaintext registration never reaches the registry.
  v1::RegisterRequest request;
  request.set_address("127.0.0.1:1");
  request.add_roles("trainer");
  v1::RegisterResponse response;
  s = v1::Scheduler::NewStub(Channel(scheduler_->address(), TlsConfig{}))
          ->Register(Context().get(), request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(registry_->Snapshot().empty());
}

TEST_F(TlsServicesTest, ClientWhoseCertificateAnotherCaSignedIsRefused) {
  // node2 is signed by CA 2; it trusts CA 1, so it could verify the servers, but they refuse it.
  TlsConfig other = Tls(2, 1);
  grpc::Status s = GetStatus(Channel(scheduler_->address(), other));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  absl::Status w = Tokenize(Channel(WorkerAddress(), other));
  EXPECT_TRUE(absl::IsUnavailable(w)) << w;
  // Another cluster altogether (its own cert and CA): refused as well, in both directions.
  s = GetStatus(Channel(scheduler_->address(), Tls(2, 2)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsServicesTest, ClientThatDoesNotTrustTheServersCaRefusesIt) {
  // The client holds CA 1's certificate but trusts only CA 2: the server's certificate fails.
  grpc::Status s = GetStatus(Channel(scheduler_->address(), Tls(1, 2)));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(TlsServicesTest, ServerNameOverrideChecksThatNameInstead) {
  TlsConfig tls = Tls(1, 1);
  tls.server_name = "r1-node";  // in the certificate's SAN
  EXPECT_TRUE(GetStatus(Channel(scheduler_->address(), tls)).ok());
  tls.server_name = "not-in-the-certificate";
  grpc::Status s = GetStatus(Channel(scheduler_->address(), tls));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

}  // namespace
}  // namespace r1
