#include "common/dns/resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dns/message_ttl.h"
#include "common/log.h"

namespace edge::dns {

namespace {

constexpr uint8_t kOpPoll = 1;

absl::Status AresError(int status, std::string_view name) {
  std::string message = absl::StrFormat("%s: %s", name, ares_strerror(status));
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
      return absl::NotFoundError(message);
    case ARES_EBADRESP:
    case ARES_EFORMERR:
    case ARES_EBADNAME:
      return absl::InvalidArgumentError(message);
    default:  // ETIMEOUT, ECONNREFUSED, ESERVFAIL, EREFUSED, ...
      return absl::UnavailableError(message);
  }
}

}  // namespace

// One socket c-ares has open, watched by a one-shot POLL_ADD. Its state changes only on the loop
// thread; `in_flight` is true from the POLL_ADD until its CQE, which is the only completion the
// watch ever gets (the POLL_REMOVEs are submitted without user data).
class Resolver::SocketWatch : public uring::IoHandler {
 public:
  SocketWatch(Resolver* owner, int fd) : owner_(owner), fd_(fd) {}

  void OnCompletion(uint8_t, int32_t res, uint32_t) override {
    in_flight_ = false;
    if (owner_ == nullptr) {  // the resolver is gone: this was the last completion
      delete this;
      return;
    }
    if (retired_) {
      owner_->OnRetiredDone(this);
      return;
    }
    owner_->OnSocketEvent(this, res);
  }

  unsigned wanted_mask() const { return (want_read_ ? POLLIN : 0) | (want_write_ ? POLLOUT : 0); }

  Resolver* owner_;
  const int fd_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool in_flight_ = false;
  bool cancel_sent_ = false;  // a POLL_REMOVE for the POLL_ADD in flight was submitted
  unsigned armed_mask_ = 0;   // events of the POLL_ADD in flight
  bool dispatching_ = false;  // inside ares_process_fd for this socket
  bool retired_ = false;      // c-ares closed the socket
};

// An A/AAAA resolution (ares_getaddrinfo).
struct Resolver::HostQuery {
  Resolver* resolver;
  std::string name;
  uint16_t port;
  std::function<void(absl::StatusOr<Answer>)> done;
};

// An SRV resolution: the SRV query, then one host resolution per distinct target.
struct Resolver::SrvQuery {
  Resolver* resolver;
  std::string name;
  Callback done;
  std::vector<SrvRecord> records;
  std::map<std::string, std::vector<net::SocketAddress>> addresses;
  uint32_t ttl_s = UINT32_MAX;
  size_t outstanding = 0;
  std::vector<std::string> failures;  // targets that did not resolve, for the error message
};

absl::StatusOr<std::unique_ptr<Resolver>> Resolver::Create(uring::EventLoop* loop,
                                                           const DnsConfig& config) {
  static std::once_flag library_init;
  static int library_status = ARES_SUCCESS;
  std::call_once(library_init, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) {
    return absl::InternalError(
        absl::StrFormat("c-ares library init: %s", ares_strerror(library_status)));
  }
  std::unique_ptr<Resolver> resolver(new Resolver(loop));
  ares_options options{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  options.sock_state_cb = &SocketStateThunk;
  options.sock_state_cb_data = resolver.get();
  options.timeout = static_cast<int>(absl::ToInt64Milliseconds(config.timeout));
  options.tries = config.attempts;
  // With resolvers named in the config, answers come from them only: /etc/hosts would make a
  // name resolve differently on each machine of a tier that is meant to agree (Maglev).
  char lookups[] = "b";
  if (!config.resolvers.empty()) {
    options.lookups = lookups;
    mask |= ARES_OPT_LOOKUPS;
  }
  ares_channel channel = nullptr;
  int status = ares_init_options(&channel, &options, mask);
  if (status != ARES_SUCCESS) {
    return absl::UnavailableError(absl::StrFormat("c-ares init: %s", ares_strerror(status)));
  }
  resolver->channel_ = channel;
  if (!config.resolvers.empty()) {
    std::vector<std::string> servers;
    for (const net::SocketAddress& a : config.resolvers) servers.push_back(a.ToString());
    std::string csv = absl::StrJoin(servers, ",");
    status = ares_set_servers_ports_csv(channel, csv.c_str());
    if (status != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrFormat("dns resolvers \"%s\": %s", csv, ares_strerror(status)));
    }
  }
  return resolver;
}

Resolver::~Resolver() {
  destroying_ = true;
  if (timer_.armed()) loop_->timers().Cancel(&timer_);
  if (channel_ != nullptr) ares_destroy(channel_);  // closes its sockets: every watch retires
  for (auto& [fd, watch] : watches_) retired_.insert(watch);  // c-ares did not report a close
  watches_.clear();
  for (SocketWatch* watch : retired_) {
    if (watch->in_flight_ && !loop_stopped_) {
      watch->owner_ = nullptr;  // frees itself at its last completion
      if (!watch->cancel_sent_) {
        io_uring_sqe* sqe = loop_->ring().GetSqe();
        io_uring_prep_poll_remove(sqe, uring::UserData(watch, kOpPoll));
        io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
      }
    } else {
      delete watch;
    }
  }
  retired_.clear();
}

void Resolver::SocketStateThunk(void* data, int fd, int readable, int writable) {
  static_cast<Resolver*>(data)->OnSocketState(fd, readable != 0, writable != 0);
}

void Resolver::OnSocketState(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {  // c-ares is about to close it
    if (it == watches_.end()) return;
    SocketWatch* watch = it->second;
    watches_.erase(it);
    Retire(watch);
    return;
  }
  SocketWatch* watch;
  if (it == watches_.end()) {
    watch = new SocketWatch(this, fd);
    watches_.emplace(fd, watch);
  } else {
    watch = it->second;
  }
  watch->want_read_ = readable;
  watch->want_write_ = writable;
  if (watch->dispatching_) return;  // OnSocketEvent re-arms after ares_process_fd
  if (!watch->in_flight_) {
    Arm(watch);
  } else if (watch->armed_mask_ != watch->wanted_mask() && !watch->cancel_sent_) {
    // Replace the POLL_ADD: its completion (-ECANCELED) re-arms with the new events.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_poll_remove(sqe, uring::UserData(watch, kOpPoll));
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
    watch->cancel_sent_ = true;
  }
}

void Resolver::Arm(SocketWatch* watch) {
  const unsigned mask = watch->wanted_mask();
  if (mask == 0) return;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_poll_add(sqe, watch->fd_, mask);
  io_uring_sqe_set_data64(sqe, uring::UserData(watch, kOpPoll));
  watch->in_flight_ = true;
  watch->cancel_sent_ = false;
  watch->armed_mask_ = mask;
}

void Resolver::Retire(SocketWatch* watch) {
  watch->retired_ = true;
  if (watch->dispatching_) return;  // OnSocketEvent finishes it
  if (!watch->in_flight_) {
    delete watch;
    return;
  }
  retired_.insert(watch);
  if (!watch->cancel_sent_) {
    // The ring holds its own reference to the file: closing the fd does not end the poll.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_poll_remove(sqe, uring::UserData(watch, kOpPoll));
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
    watch->cancel_sent_ = true;
  }
}

void Resolver::OnRetiredDone(SocketWatch* watch) {
  retired_.erase(watch);
  delete watch;
}

void Resolver::OnSocketEvent(SocketWatch* watch, int32_t res) {
  if (res != -ECANCELED) {
    // An error result (the socket failed) is handed to c-ares as readable: its recv reports the
    // error and c-ares moves on to the next server.
    const bool error = res < 0 || (res & (POLLERR | POLLHUP)) != 0;
    const int read_fd = error || (res & POLLIN) ? watch->fd_ : ARES_SOCKET_BAD;
    const int write_fd = (res > 0 && (res & POLLOUT)) ? watch->fd_ : ARES_SOCKET_BAD;
    watch->dispatching_ = true;
    ares_process_fd(channel_, read_fd, write_fd);
    watch->dispatching_ = false;
  }
  if (watch->retired_) {
    delete watch;  // not in retired_: Retire() saw dispatching_ (or it is in flight no more)
  } else {
    Arm(watch);
  }
  UpdateTimer();
}

void Resolver::TimerThunk(void* self) {
  auto* r = static_cast<Resolver*>(self);
  ares_process_fd(r->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  r->UpdateTimer();
}

void Resolver::UpdateTimer() {
  if (destroying_) return;
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    loop_->timers().Cancel(&timer_);
    return;
  }
  const int64_t delay_ns = int64_t{tv.tv_sec} * 1'000'000'000 + int64_t{tv.tv_usec} * 1000;
  loop_->timers().Schedule(&timer_, uring::MonotonicNowNs() + delay_ns);
}

void Resolver::ResolveHost(const std::string& name, uint16_t port,
                           std::function<void(absl::StatusOr<Answer>)> done) {
  auto* query = new HostQuery{this, name, port, std::move(done)};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // Order does not matter (the answer is sorted), and sorting would connect() a probe socket per
  // address synchronously.
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<HostQuery> q(static_cast<HostQuery*>(arg));
        if (q->resolver->destroying_) {
          if (result != nullptr) ares_freeaddrinfo(result);
          return;
        }
        if (status != ARES_SUCCESS) {
          if (result != nullptr) ares_freeaddrinfo(result);
          q->done(AresError(status, q->name));
          return;
        }
        Answer answer;
        answer.ttl_s = UINT32_MAX;
        for (ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
          if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
          net::SocketAddress a = net::SocketAddress::FromSockaddr(n->ai_addr, n->ai_addrlen);
          if (!a.valid()) continue;
          a.set_port(q->port);
          answer.endpoints.push_back(Endpoint{a, 1});
          answer.ttl_s =
              std::min<uint32_t>(answer.ttl_s, static_cast<uint32_t>(std::max(n->ai_ttl, 0)));
        }
        ares_freeaddrinfo(result);
        if (answer.endpoints.empty()) {
          q->done(absl::NotFoundError(q->name + ": no IPv4 or IPv6 address"));
          return;
        }
        answer.endpoints = Normalize(std::move(answer.endpoints));
        // Two A records with one address are one endpoint, not weight 2.
        for (Endpoint& e : answer.endpoints) e.weight = 1;
        q->done(std::move(answer));
      },
      query);
  UpdateTimer();
}

void Resolver::Resolve(const DnsTarget& target, Callback done) {
  ++pending_;
  // Counts the resolution as finished before the caller sees it, so pending() is exact inside
  // the callback.
  auto finish = [this, done = std::move(done)](absl::StatusOr<Answer> answer) {
    --pending_;
    done(std::move(answer));
  };
  if (target.kind == DnsTarget::Kind::kHost) {
    ResolveHost(target.name, target.port, std::move(finish));
    return;
  }
  auto* query = new SrvQuery{this, target.name, std::move(finish)};
  ares_query(
      channel_, target.name.c_str(), ns_c_in, ns_t_srv,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        auto q = std::shared_ptr<SrvQuery>(static_cast<SrvQuery*>(arg));
        Resolver* self = q->resolver;
        if (self->destroying_) return;
        if (status != ARES_SUCCESS) {
          q->done(AresError(status, q->name));
          return;
        }
        ares_srv_reply* reply = nullptr;
        status = ares_parse_srv_reply(abuf, alen, &reply);
        if (status != ARES_SUCCESS) {
          q->done(AresError(status, q->name));
          return;
        }
        for (ares_srv_reply* r = reply; r != nullptr; r = r->next) {
          std::string host = absl::AsciiStrToLower(r->host);
          if (!host.empty() && host.back() == '.') host.pop_back();
          // RFC 2782: a target of "." means the service is decidedly not available here.
          if (host.empty() || !IsHostName(host)) continue;
          q->records.push_back(SrvRecord{host, r->port, r->priority, r->weight});
        }
        ares_free_data(reply);
        auto ttl = MinAnswerTtl(std::span<const uint8_t>(abuf, static_cast<size_t>(alen)));
        if (!ttl.ok()) {
          q->done(absl::InvalidArgumentError(q->name + ": " + std::string(ttl.status().message())));
          return;
        }
        q->ttl_s = *ttl;
        std::vector<std::string> targets;
        for (const SrvRecord& r : q->records) targets.push_back(r.target);
        std::sort(targets.begin(), targets.end());
        targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
        if (targets.empty()) {
          q->done(absl::NotFoundError(q->name + ": no usable SRV record"));
          return;
        }
        q->outstanding = targets.size();
        for (const std::string& t : targets) {
          self->ResolveHost(t, 0, [q, t](absl::StatusOr<Answer> answer) {
            if (answer.ok()) {
              auto& list = q->addresses[t];
              for (const Endpoint& e : answer->endpoints) list.push_back(e.address);
              q->ttl_s = std::min(q->ttl_s, answer->ttl_s);
            } else {
              q->failures.push_back(std::string(answer.status().message()));
            }
            if (--q->outstanding != 0) return;
            Answer out;
            out.endpoints = EndpointsFromSrv(q->records, q->addresses);
            out.ttl_s = q->ttl_s;
            if (out.endpoints.empty()) {
              q->done(absl::NotFoundError(absl::StrFormat(
                  "%s: no SRV target resolved (%s)", q->name, absl::StrJoin(q->failures, "; "))));
              return;
            }
            q->done(std::move(out));
          });
        }
      },
      query);
  UpdateTimer();
}

}  // namespace edge::dns
