// The Worker service and its gRPC client over loopback, with the fake worker behind the service:
// a whole pipeline runs through them exactly as in-process, calls without the run's token are
// refused, and errors keep their codes across the wire.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/grpc_worker_client.h"
#include "scheduler/pipeline_runner.h"
#include "tests/stages/fake_worker.h"
#include "tests/test_util.h"
#include "workers/service/worker_service.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret-run-token";

// A Worker service on 127.0.0.1 (a free port) in front of `backend`.
class LoopbackWorker {
 public:
  explicit LoopbackWorker(WorkerClient* backend) : service_(backend, kToken) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~LoopbackWorker() { server_->Shutdown(std::chrono::system_clock::now()); }

  std::unique_ptr<GrpcWorkerClient> Client(const std::string& token) const {
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    GrpcWorkerClientOptions options;
    options.token = token;
    options.deadline = std::chrono::seconds(30);
    return std::make_unique<GrpcWorkerClient>(channel, options);
  }
  int port() const { return port_; }
  const WorkerService& service() const { return service_; }

 private:
  WorkerService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

PipelineConfig MiniConfig(const std::string& dir) {
  std::string data = JoinPath(dir, "data.jsonl");
  std::ofstream out(data);
  for (const char* p : {"a", "b", "c"}) {
    out << nlohmann::json{{"prompt", p},
                          {"answer", "0"},
                          {"solution", "<think>t</think><answer>0</answer>"}}
               .dump()
        << "\n";
  }
  out.close();
  auto config = ParseConfig(absl::StrCat(R"(run: {name: t, seed: 1}
model: {path: /models/base}
datasets:
  d: {path: )",
                                         data, R"(, format: prompt_answer}
stages:
  - name: sft
    type: sft
    inputs: {model: base, datasets: [d]}
    sft: {batch_size: 2, steps: 3}
  - name: grpo
    type: grpo
    depends_on: [sft]
    inputs: {model: "stage:sft", datasets: [d]}
    grpo: {steps: 2, prompts_per_step: 2, group_size: 2, kl_coef: 0.1, temperature: 0.9,
           rewards: [{name: accuracy}]}
  - name: eval
    type: eval
    depends_on: [grpo]
    inputs: {model: "stage:grpo", datasets: [d]}
    eval: {samples_per_prompt: 2}
)"));
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

std::string TempDir(const std::string& name) {
  return testing_util::ScratchDir("grpc_worker_" + name);
}

TEST(GrpcWorkerTest, APipelineOverGrpcMatchesTheInProcessRun) {
  std::string dir = TempDir("pipeline");
  PipelineConfig config = MiniConfig(dir);

  FakeWorker direct;
  PipelineRunOptions options;
  options.run_dir = JoinPath(dir, "direct");
  auto expected = RunPipeline(config, &direct, options);
  ASSERT_TRUE(expected.ok()) << expected.status();

  FakeWorker remote;
  LoopbackWorker server(&remote);
  auto client = server.Client(kToken);
  options.run_dir = JoinPath(dir, "remote");
  auto got = RunPipeline(config, client.get(), options);
  ASSERT_TRUE(got.ok()) << got.status();

  ASSERT_EQ(remote.batches.size(), direct.batches.size());
  for (size_t i = 0; i < direct.batches.size(); ++i) {
    const TrainBatch& a = direct.batches[i];
    const TrainBatch& b = remote.batches[i];
    EXPECT_EQ(a.objective, b.objective);
    EXPECT_EQ(a.step, b.step);
    EXPECT_EQ(a.prompts, b.prompts);
    EXPECT_EQ(a.responses, b.responses);
    EXPECT_EQ(a.advantages, b.advantages);
    EXPECT_EQ(a.old_logprobs, b.old_logprobs);
    EXPECT_EQ(a.ref_logprobs, b.ref_logprobs);
    EXPECT_EQ(a.policy_loss.aggregation, b.policy_loss.aggregation);
    EXPECT_EQ(a.policy_loss.kl_coef, b.policy_loss.kl_coef);
    EXPECT_EQ(a.policy_loss.temperature, b.policy_loss.temperature);
  }
  EXPECT_EQ(remote.generated, direct.generated);
  ASSERT_FALSE(direct.logprob_temperatures.empty());
  EXPECT_EQ(remote.logprob_temperatures, direct.logprob_temperatures);
  EXPECT_FLOAT_EQ(remote.logprob_temperatures[0], 0.9f);
  ASSERT_EQ(got->evals.size(), 1u);
  for (const char* key : {"pass@1", "maj@k", "format_rate", "response_length_mean", "problems"}) {
    EXPECT_EQ(got->evals[0].values[key], expected->evals[0].values[key]) << key;
  }
}

TEST(GrpcWorkerTest, CallsWithoutTheTokenAreRefused) {
  FakeWorker backend;
  LoopbackWorker server(&backend);
  for (const std::string token : {"", "wrong"}) {
    auto client = server.Client(token);
    absl::Status s = client->LoadModel("policy", "/m", nullptr, "");
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("token"));
    EXPECT_EQ(client->Generate("policy", {RolloutRequest{}}).status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client->Shutdown().code(), absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(backend.loads.empty());  // nothing reached the backend
  EXPECT_FALSE(server.service().shutdown_requested());
  EXPECT_TRUE(server.Client(kToken)->Shutdown().ok());
  EXPECT_TRUE(server.service().shutdown_requested());
}

// Hostile requests (worker_api/request_limits.h) are refused by the service with the limit named,
// before the backend sees them.
TEST(GrpcWorkerTest, HostileRequestsAreRefusedBeforeTheBackend) {
  FakeWorker backend;
  LoopbackWorker server(&backend);
  auto client = server.Client(kToken);
  RolloutRequest absurd;
  absurd.prompt = {1, 2};
  absurd.sampling.max_new_tokens = 2147483647;
  auto generated = client->Generate("policy", {absurd});
  EXPECT_EQ(generated.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(generated.status().message()),
              HasSubstr("max_new_tokens 2147483647 exceeds the limit of"));
  RolloutRequest negative = absurd;
  negative.sampling.max_new_tokens = -1;
  EXPECT_EQ(client->Generate("policy", {negative}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // One long response pads all 70000 rows: refused by count first.
  std::vector<TokenSeq> prompts(70000, TokenSeq{1});
  std::vector<TokenSeq> responses(70000, TokenSeq{2});
  auto logprobs = client->Logprobs("policy", prompts, responses, 1.0f);
  EXPECT_EQ(logprobs.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(logprobs.status().message()),
              HasSubstr("70000 sequences exceed the limit of 65536 per request"));
  EXPECT_EQ(backend.generated, 0);
  EXPECT_TRUE(backend.logprob_temperatures.empty());
}

// A backend whose request 1 finishes first and whose request 0 finishes only once the client
// has received request 1's completion (or after 20 s): it finishes in time only if the service
// writes each completion as its sequence finishes.
class OutOfOrderWorker : public FakeWorker {
 public:
  std::promise<void> client_saw_first;
  bool released_by_client = false;

  absl::Status GenerateStreaming(const std::string& slot,
                                 const std::vector<RolloutRequest>& requests,
                                 const RolloutSink& sink) override {
    auto rollouts = Generate(slot, requests);
    if (!rollouts.ok()) return rollouts.status();
    if (absl::Status s = sink(1, (*rollouts)[1]); !s.ok()) return s;
    released_by_client = client_saw_first.get_future().wait_for(std::chrono::seconds(20)) ==
                         std::future_status::ready;
    return sink(0, (*rollouts)[0]);
  }
};

TEST(GrpcWorkerTest, CompletionsStreamAsTheyFinish) {
  OutOfOrderWorker backend;
  backend.respond = [](const std::string& prompt, uint64_t) { return "re:" + prompt; };
  LoopbackWorker server(&backend);
  auto client = server.Client(kToken);
  RolloutRequest a, b;
  a.prompt = {'a'};
  b.prompt = {'b'};
  std::vector<size_t> order;
  std::vector<std::string> texts(2);
  absl::Status s = client->GenerateStreaming("policy", {a, b}, [&](size_t i, Rollout r) {
    if (order.empty()) backend.client_saw_first.set_value();
    order.push_back(i);
    texts[i] = r.text;
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(order, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(texts, (std::vector<std::string>{"re:a", "re:b"}));
  EXPECT_TRUE(backend.released_by_client);
  // A sink error ends the call with that error.
  OutOfOrderWorker again;
  LoopbackWorker server2(&again);
  again.client_saw_first.set_value();
  auto refused = server2.Client(kToken)->GenerateStreaming(
      "policy", {a, b}, [](size_t, Rollout) { return absl::AbortedError("enough"); });
  EXPECT_EQ(refused.code(), absl::StatusCode::kAborted);
}

TEST(GrpcWorkerTest, ErrorsKeepTheirCodeAndAGoneWorkerIsUnavailable) {
  FakeWorker backend;
  backend.fail_at_step = 0;
  auto client = [&] {
    LoopbackWorker server(&backend);
    auto c = server.Client(kToken);
    TrainBatch batch;
    batch.prompts = {{1}};
    batch.responses = {{2}};
    auto failed = c->TrainStep("policy", batch);
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(failed.status().message()), HasSubstr("worker died"));
    return c;
  }();
  // The server is gone now: calls fail instead of hanging.
  absl::Status s = client->SyncWeights().status();
  EXPECT_TRUE(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) << s;
}

}  // namespace
}  // namespace r1
