// The /metrics HTTP server (see metrics_http.h).
#include "scheduler/metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace r1 {
namespace {

// How long a connection whose response is sent may take to close its side (the bytes it still
// sends are read and dropped, so that closing does not reset the connection under the response).
constexpr absl::Duration kDrainTimeout = absl::Seconds(1);

std::string Response(absl::string_view status, absl::string_view content_type,
                     absl::string_view body, absl::string_view extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

std::string ErrorResponse(absl::string_view status, absl::string_view message,
                          absl::string_view extra_headers = "") {
  return Response(status, "text/plain; charset=utf-8", absl::StrCat(message, "\n"), extra_headers);
}

// Where the request line and headers end in `in` (the index after the blank line), or npos.
size_t HeaderEnd(const std::string& in) {
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  if (crlf == std::string::npos && lf == std::string::npos) return std::string::npos;
  if (crlf == std::string::npos) return lf + 2;
  if (lf == std::string::npos) return crlf + 4;
  return std::min(crlf + 4, lf + 2);
}

std::string ErrnoText(int err) { return std::strerror(err); }

struct Connection {
  enum class Phase { kReading, kWriting, kDraining };
  int fd = -1;
  Phase phase = Phase::kReading;
  std::string in, out;
  size_t sent = 0;
  absl::Time deadline;
  bool done = false;  // the peer closed or failed: close at once
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, std::string content_type, std::function<std::string()> render,
    MetricsHttpOptions options) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(address).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT with PORT in [0, 65535]"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = absl::StrCat(port);
  const int gai =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &found);
  if (gai != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve the host of \"", address, "\": ", gai_strerror(gai)));
  }
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer());
  std::string error = "no address to listen on";
  for (addrinfo* a = found; a != nullptr && server->listen_fd_ < 0; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = ErrnoText(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      error = ErrnoText(errno);
      close(fd);
      continue;
    }
    server->listen_fd_ = fd;
  }
  freeaddrinfo(found);
  if (server->listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  char bound_host[NI_MAXHOST] = {}, bound_port[NI_MAXSERV] = {};
  if (getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0 ||
      getnameinfo(reinterpret_cast<sockaddr*>(&bound), bound_len, bound_host, sizeof(bound_host),
                  bound_port, sizeof(bound_port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    close(server->listen_fd_);
    return absl::InternalError(absl::StrCat("cannot read the address bound for ", address));
  }
  server->address_ = bound.ss_family == AF_INET6 ? absl::StrCat("[", bound_host, "]:", bound_port)
                                                 : absl::StrCat(bound_host, ":", bound_port);
  if (pipe2(server->wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int err = errno;
    close(server->listen_fd_);
    return absl::InternalError(absl::StrCat("pipe: ", ErrnoText(err)));
  }
  server->content_type_ = std::move(content_type);
  server->render_ = std::move(render);
  server->options_ = options;
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  if (thread_.joinable()) {
    const char byte = 1;
    while (write(wake_fds_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_fds_[0], wake_fds_[1]}) {
    if (fd >= 0) close(fd);
  }
}

namespace {

void Respond(Connection& c, std::string response) {
  c.out = std::move(response);
  c.sent = 0;
  c.phase = Connection::Phase::kWriting;
}

// The response to a complete request head (request line and headers).
std::string AnswerRequest(absl::string_view head, absl::string_view content_type,
                          const std::function<std::string()>& render) {
  absl::string_view line = head.substr(0, head.find('\n'));
  line = absl::StripSuffix(line, "\r");
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !absl::StartsWith(parts[2], "HTTP/1.")) {
    return ErrorResponse("400 Bad Request", "bad request: expected GET /metrics HTTP/1.1");
  }
  if (parts[0] != "GET") {
    return ErrorResponse("405 Method Not Allowed", "method not allowed: use GET /metrics",
                         "Allow: GET\r\n");
  }
  absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") {
    return ErrorResponse("404 Not Found", "not found: the only resource is /metrics");
  }
  return Response("200 OK", content_type, render());
}

// Sends what the socket takes of the response; once all is sent, half-closes and drains.
void WriteSome(Connection& c, absl::Time now) {
  while (c.sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) c.done = true;  // gone
      break;
    }
  }
  if (c.sent == c.out.size()) {
    shutdown(c.fd, SHUT_WR);
    c.phase = Connection::Phase::kDraining;
    c.deadline = std::min(c.deadline, now + kDrainTimeout);
  }
}

// Reading or draining: takes what is there (bounded per wakeup); a complete request is answered,
// one over `max_request_bytes` refused with 431.
void ReadSome(Connection& c, size_t max_request_bytes, absl::string_view content_type,
              const std::function<std::string()>& render) {
  char buffer[4096];
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // End of stream or an error: nothing more will come. A partial request is dropped.
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.done = true;
      break;
    }
    if (c.phase == Connection::Phase::kDraining) continue;
    c.in.append(buffer, static_cast<size_t>(n));
    const size_t end = HeaderEnd(c.in);
    if (end != std::string::npos && end <= max_request_bytes) {
      Respond(c, AnswerRequest(absl::string_view(c.in.data(), end), content_type, render));
      break;
    }
    if (c.in.size() > max_request_bytes) {
      Respond(c, ErrorResponse("431 Request Header Fields Too Large",
                               absl::StrCat("request too large: the limit is ", max_request_bytes,
                                            " bytes")));
      break;
    }
  }
}

// Timeouts: a connection that has sent part of a request is told so; every other expired or
// finished one is closed and removed.
void ExpireConnections(std::vector<Connection>& connections, absl::Time now) {
  for (Connection& c : connections) {
    if (!c.done && now < c.deadline) continue;
    if (!c.done && c.phase == Connection::Phase::kReading && !c.in.empty()) {
      Respond(c, ErrorResponse("408 Request Timeout", "request timeout"));
      c.deadline = now + kDrainTimeout;
      continue;
    }
    close(c.fd);
    c.fd = -1;
  }
  connections.erase(std::remove_if(connections.begin(), connections.end(),
                                   [](const Connection& c) { return c.fd < 0; }),
                    connections.end());
}

// New connections (bounded per wakeup); beyond max_connections: 503 and close. Out of file
// descriptors: accepting pauses briefly (`*accept_paused_until`) instead of spinning.
void AcceptNew(int listen_fd, const MetricsHttpOptions& options, absl::Time now,
               std::vector<Connection>& connections, absl::Time* accept_paused_until) {
  for (int accepted = 0; accepted < 64; ++accepted) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        *accept_paused_until = now + absl::Milliseconds(100);
      }
      break;  // EAGAIN (none left), a connection that went away, or out of resources
    }
    if (static_cast<int>(connections.size()) >= options.max_connections) {
      const std::string busy = ErrorResponse("503 Service Unavailable", "too many connections");
      (void)send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
      close(fd);
      continue;
    }
    Connection c;
    c.fd = fd;
    c.deadline = now + options.connection_timeout;
    connections.push_back(std::move(c));
  }
}

}  // namespace

void MetricsHttpServer::Serve() {
  std::vector<Connection> connections;
  absl::Time accept_paused_until = absl::InfinitePast();
  for (;;) {
    absl::Time now = absl::Now();
    std::vector<pollfd> fds;
    fds.push_back({wake_fds_[0], POLLIN, 0});
    fds.push_back({listen_fd_, static_cast<short>(now < accept_paused_until ? 0 : POLLIN), 0});
    absl::Duration wait = absl::Seconds(1);
    if (now < accept_paused_until) wait = std::min(wait, accept_paused_until - now);
    for (const Connection& c : connections) {
      fds.push_back(
          {c.fd, static_cast<short>(c.phase == Connection::Phase::kWriting ? POLLOUT : POLLIN), 0});
      wait = std::min(wait, std::max(absl::ZeroDuration(), c.deadline - now));
    }
    const int ready =
        poll(fds.data(), fds.size(), static_cast<int>(absl::ToInt64Milliseconds(wait)) + 1);
    if (ready < 0 && errno != EINTR) return;  // cannot happen with valid descriptors
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) break;
    now = absl::Now();
    for (size_t i = 0; ready > 0 && i < connections.size(); ++i) {
      Connection& c = connections[i];
      if (fds[i + 2].revents == 0) continue;
      if (c.phase == Connection::Phase::kWriting) {
        WriteSome(c, now);
      } else {
        ReadSome(c, options_.max_request_bytes, content_type_, render_);
      }
    }
    ExpireConnections(connections, now);
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      AcceptNew(listen_fd_, options_, now, connections, &accept_paused_until);
    }
  }
  for (Connection& c : connections) close(c.fd);
}

}  // namespace r1
