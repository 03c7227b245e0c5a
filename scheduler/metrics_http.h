// A minimal HTTP/1.1 server for one resource, GET /metrics (the scheduler's Prometheus endpoint,
// cluster.metrics_address). One thread multiplexes every connection with poll(): a client that is
// slow, silent or sends garbage costs at most its own connection's timeout and never delays
// another client or the run.
#ifndef R1_SCHEDULER_METRICS_HTTP_H_
#define R1_SCHEDULER_METRICS_HTTP_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace r1 {

struct MetricsHttpOptions {
  // A connection must deliver its whole request (line and headers) and take the response within
  // this; otherwise it is closed (after a 408 when it sent part of a request).
  absl::Duration connection_timeout = absl::Seconds(5);
  size_t max_request_bytes = 8192;  // request line + headers; more: 431, connection closed
  int max_connections = 64;         // open at once; a connection beyond: 503, closed at once
};

// Requests and answers (every response has Content-Length and "Connection: close", and the
// connection is closed after it; a request body is never read):
//   GET /metrics (any query string)      200, Content-Type `content_type`, body = render()
//   GET of another path                  404
//   another method (POST, HEAD, ...)     405 with "Allow: GET"
//   not an HTTP/1.x request line         400
//   request line + headers too long      431
// Thread-safety: address() from any thread; destroy from one. `render` runs on the server's
// thread, one call per GET /metrics.
class MetricsHttpServer {
 public:
  // Listens on `address` (HOST:PORT; port 0 = any free port; HOST a name or a numeric IPv4/IPv6
  // address, IPv6 optionally in brackets) and starts serving. InvalidArgument for an address that
  // is not HOST:PORT or a host that does not resolve; Unavailable, naming the address and the
  // reason ("Address already in use"), when it cannot listen there.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, std::string content_type, std::function<std::string()> render,
      MetricsHttpOptions options = {});

  // The bound address, numeric: "127.0.0.1:43211", "[::1]:43211".
  const std::string& address() const { return address_; }

  // Stops the thread and closes the listening socket and every open connection.
  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

 private:
  MetricsHttpServer() = default;
  void Serve();

  std::string content_type_;
  std::function<std::string()> render_;
  MetricsHttpOptions options_;
  std::string address_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe: writing a byte ends Serve()
  std::thread thread_;
};

}  // namespace r1

#endif  // R1_SCHEDULER_METRICS_HTTP_H_
