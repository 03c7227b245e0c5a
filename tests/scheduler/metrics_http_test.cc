// The /metrics HTTP server over 127.0.0.1: GET /metrics, 404, 405, garbage, an oversized request,
// slow and silent clients (they neither block others nor stay open past the timeout), the
// connection limit, a port in use and bad addresses. Every socket wait is bounded.
#include "scheduler/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace r1 {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A connected TCP client socket to 127.0.0.1:`port` whose reads time out after 5 s.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (oversized requests)
    sent += static_cast<size_t>(n);
  }
}

// Everything the server sends until it closes the connection (or 5 s pass: then "<timeout>" is
// appended).
std::string ReadToEnd(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) out += "<timeout>";
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  void StartServer(MetricsHttpOptions options = {}) {
    auto server = MetricsHttpServer::Start(
        "127.0.0.1:0", "text/plain; version=0.0.4; charset=utf-8",
        [this] { return absl::StrCat("r1_test_renders ", ++renders_, "\n"); }, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    const std::string& address = server_->address();
    ASSERT_THAT(address, StartsWith("127.0.0.1:"));
    ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port_));
    ASSERT_GT(port_, 0);
  }

  // Sends `request` on a fresh connection and returns the whole response.
  std::string Exchange(const std::string& request) {
    const int fd = Connect(port_);
    SendAll(fd, request);
    std::string response = ReadToEnd(fd);
    close(fd);
    return response;
  }

  std::atomic<int> renders_{0};
  std::unique_ptr<MetricsHttpServer> server_;
  int port_ = 0;
};

TEST_F(MetricsHttpTest, GetMetricsAnswersTheRenderedTextAndCloses) {
  StartServer();
  const std::string response =
      Exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n");
  EXPECT_EQ(response,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 18\r\nConnection: close\r\n\r\nr1_test_renders 1\n");
  // A query string is ignored; bare-LF line ends are accepted; every scrape renders afresh.
  EXPECT_THAT(Exchange("GET /metrics?name[]=x HTTP/1.0\n\n"), HasSubstr("200 OK\r\n"));
  EXPECT_EQ(renders_.load(), 2);
}

TEST_F(MetricsHttpTest, OtherPathsMethodsAndGarbage) {
  StartServer();
  EXPECT_THAT(Exchange("GET / HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(Exchange("GET /metricsx HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  const std::string post = Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("\r\nAllow: GET\r\n"));
  EXPECT_THAT(Exchange("HEAD /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(Exchange("hello\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Exchange("GET /metrics SMTP/2\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Exchange(std::string("\x16\x03\x01\x02\x00\x01\x00\n\n", 11)),
              StartsWith("HTTP/1.1 400 "));
  // A client that goes away mid-request costs nothing.
  const int fd = Connect(port_);
  SendAll(fd, "GET /met");
  close(fd);
  EXPECT_EQ(renders_.load(), 0);
  EXPECT_THAT(Exchange("GET /metrics HTTP/1.1\r\n\r\n"), HasSubstr("r1_test_renders 1\n"));
}

TEST_F(MetricsHttpTest, OversizedRequestIsRefused) {
  MetricsHttpOptions options;
  options.max_request_bytes = 1024;
  StartServer(options);
  const std::string big_header =
      absl::StrCat("GET /metrics HTTP/1.1\r\nX-Big: ", std::string(4000, 'a'), "\r\n\r\n");
  EXPECT_THAT(Exchange(big_header), StartsWith("HTTP/1.1 431 "));
  // An endless request line without any line end: refused once past the limit.
  EXPECT_THAT(Exchange(std::string(200000, 'x')), StartsWith("HTTP/1.1 431 "));
  EXPECT_EQ(renders_.load(), 0);
  // Just under the limit is fine.
  const std::string fits =
      absl::StrCat("GET /metrics HTTP/1.1\r\nX-Pad: ", std::string(900, 'a'), "\r\n\r\n");
  EXPECT_THAT(Exchange(fits), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsHttpTest, SilentAndSlowClientsDoNotBlockOthersAndAreClosed) {
  MetricsHttpOptions options;
  options.connection_timeout = absl::Seconds(3);
  StartServer(options);
  const int silent = Connect(port_);
  const int slow = Connect(port_);
  SendAll(slow, "GET /metr");
  // Others are answered at once while both are open.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Exchange("GET /metrics HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 200 OK\r\n"));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // well before either times out
  // Past the timeout the silent one is closed without a word, the slow one after a 408.
  EXPECT_EQ(ReadToEnd(silent), "");
  EXPECT_THAT(ReadToEnd(slow), StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));
  close(silent);
  close(slow);
}

TEST_F(MetricsHttpTest, ConnectionsBeyondTheLimitGet503) {
  MetricsHttpOptions options;
  options.max_connections = 2;
  StartServer(options);
  const int a = Connect(port_), b = Connect(port_);
  // Wait (bounded) until the server has accepted both: a third is then one too many.
  std::string third;
  for (int i = 0; i < 50 && !absl::StrContains(third, " 503 "); ++i) {
    third = Exchange("GET /metrics HTTP/1.1\r\n\r\n");
    if (!absl::StrContains(third, " 503 ")) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(third, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  close(a);
  close(b);
  // Once they are gone, requests are served again.
  std::string again;
  for (int i = 0; i < 50 && !absl::StrContains(again, " 200 "); ++i) {
    again = Exchange("GET /metrics HTTP/1.1\r\n\r\n");
    if (!absl::StrContains(again, " 200 ")) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(again, StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsHttpTest, StopsPromptlyWithOpenConnections) {
  StartServer();
  const int silent = Connect(port_);
  const absl::Time start = absl::Now();
  server_.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(ReadToEnd(silent), "");  // closed by the server
  close(silent);
}

TEST_F(MetricsHttpTest, PortInUseAndBadAddresses) {
  StartServer();
  auto taken = MetricsHttpServer::Start(server_->address(), "text/plain", [] { return ""; });
  ASSERT_FALSE(taken.ok());
  EXPECT_TRUE(absl::IsUnavailable(taken.status())) << taken.status();
  EXPECT_THAT(
      std::string(taken.status().message()),
      HasSubstr(absl::StrCat("cannot listen on ", server_->address(), ": Address already in use")));
  for (const char* bad : {"9464", "127.0.0.1:x", "127.0.0.1:70000", "127.0.0.1:-1"}) {
    auto s = MetricsHttpServer::Start(bad, "text/plain", [] { return ""; });
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << s.status();
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("is not HOST:PORT")) << bad;
  }
}

}  // namespace
}  // namespace r1
