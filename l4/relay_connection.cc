#include "l4/relay_connection.h"

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/net/socket.h"
#include "common/net/splice_pipe.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/compat.h"
#include "common/uring/event_loop.h"
#include "l4/connection_log.h"
#include "l4/connection_sockets.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
// One read of ClientHello bytes: most hellos arrive whole in the first one.
constexpr size_t kSniffReadSize = 4096;
// Pipe fills per Pump before it waits for a poll: other connections get their turn.
constexpr int kMaxPumpRounds = 4;
}  // namespace

RelayConnection::RelayConnection(Worker* worker)
    : worker_(worker), timer_(&TimerThunk, this), connector_(worker, this, kConnect, &timer_) {}

RelayConnection::~RelayConnection() = default;

void RelayConnection::Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
                            const net::SocketAddress* peer) {
  listener_ = std::move(listener);
  fd_[kClient] = client_fd;
  fd_[kBackend] = -1;
  pending_ops_ = 0;
  for (Flow& f : flow_) f.Reset();
  proxy_header_.clear();
  bytes_[kClient] = bytes_[kBackend] = 0;
  close_reason_ = nullptr;
  first_fin_ = -1;
  sni_.clear();
  net::SetNoDelay(client_fd);
  if (peer != nullptr) {
    client_address_ = *peer;
  } else if (listener_->needs_client_address) {
    client_address_ = net::PeerAddress(client_fd);
  }
  last_activity_ns_ = start_ns_ = worker_->loop().now_ns();
  pool_ = listener_->pool.get();
  connector_.Reset(pool_, &client_address_);
  if (listener_->config.mode == ListenerMode::kTlsPassthrough) {
    StartSniff();
    return;
  }
  state_ = State::kConnecting;
  Connect();
}

void RelayConnection::StartSniff() {
  state_ = State::kSniffing;
  hello_ = std::make_unique<Hello>();
  hello_->parser.emplace(listener_->config.max_client_hello);
  worker_->loop().timers().Schedule(&timer_, start_ns_ + listener_->handshake_timeout_ns);
  ArmSniff();
}

// A plain recv appending to hello_ (the provided ring's buffers are for the relay; a hello may
// need several reads, and the bytes must stay contiguous until they are forwarded).
void RelayConnection::ArmSniff() {
  hello_->bytes.resize(hello_->size + kSniffReadSize);
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[kClient], hello_->bytes.data() + hello_->size, kSniffReadSize, 0);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kSniff));
  ++pending_ops_;
}

void RelayConnection::OnSniff(int32_t res) {
  --pending_ops_;
  if (state_ != State::kSniffing) {
    MaybeFinish();
    return;
  }
  WorkerStats& stats = worker_->stats();
  if (res <= 0) {
    if (res == 0) {
      stats.hello_eof.Add(1);
      Abort("client closed before its ClientHello was complete");
    } else {
      stats.errors.Add(1);
      Abort("client socket error before its ClientHello");
    }
    return;
  }
  stats.bytes_from_clients.Add(static_cast<uint64_t>(res));
  bytes_[kClient] += static_cast<uint64_t>(res);
  tls::ClientHelloParser& parser = *hello_->parser;
  auto result =
      parser.Feed(std::string_view(hello_->bytes.data() + hello_->size, static_cast<size_t>(res)));
  hello_->size += static_cast<size_t>(res);
  hello_->bytes.resize(hello_->size);
  switch (result) {
    case tls::ClientHelloParser::Result::kNeedMore:
      ArmSniff();
      return;
    case tls::ClientHelloParser::Result::kError:
      stats.hello_refused[static_cast<size_t>(parser.error())].Add(1);
      LOG_DEBUG("ClientHello refused (%s): %s", tls::HelloErrorName(parser.error()),
                parser.error_message());
      Abort("bad ClientHello");
      return;
    case tls::ClientHelloParser::Result::kDone:
      break;
  }
  const std::string& sni = parser.info().sni;
  Pool* routed = sni.empty() ? nullptr : listener_->routes.Find(sni);
  (routed != nullptr ? stats.hello_routed : stats.hello_default_pool).Add(1);
  if (routed != nullptr) pool_ = routed;
  if (listener_->access_log_sample > 0) sni_ = sni;
  connector_.Reset(pool_, &client_address_);
  hello_->parser.reset();
  worker_->loop().timers().Cancel(&timer_);
  state_ = State::kConnecting;
  Connect();
}

// Picks a backend (skipping those this connection already failed on) and starts connecting.
void RelayConnection::Connect() {
  state_ = State::kConnecting;
  BackendConnector::Outcome outcome = connector_.Connect();
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    Abort(connector_.failure());
    return;
  }
  ++pending_ops_;
}

void RelayConnection::OnConnect(int32_t res) {
  --pending_ops_;
  if (state_ == State::kClosing) {
    MaybeFinish();
    return;
  }
  BackendConnector::Outcome outcome = connector_.OnConnect(res);
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    Abort(connector_.failure());
    return;
  }
  if (outcome == BackendConnector::Outcome::kConnecting) {
    ++pending_ops_;
    return;
  }
  state_ = State::kRelaying;
  backend_ = connector_.backend();
  if (listener_->config.proxy_protocol != ProxyProtocolMode::kOff) {
    net::SocketAddress local = net::LocalAddress(fd_[kClient]);
    proxy_header_ = listener_->config.proxy_protocol == ProxyProtocolMode::kV1
                        ? net::EncodeProxyV1(client_address_, local)
                        : net::EncodeProxyV2(client_address_, local);
    flow_[kClient].queue.push_back(Chunk{
        proxy_header_.data(), static_cast<uint32_t>(proxy_header_.size()), kHeaderChunk, nullptr});
  }
  if (hello_ != nullptr) {  // passthrough: the ClientHello (and anything after it) goes first
    flow_[kClient].queue.push_back(
        Chunk{hello_->bytes.data(), static_cast<uint32_t>(hello_->size), kHelloChunk, nullptr});
  }
  if (flow_[kClient].pending() > 0) TrySend(kClient);
  last_activity_ns_ = worker_->loop().now_ns();
  worker_->loop().timers().Schedule(&timer_, last_activity_ns_ + listener_->idle_timeout_ns);
  ArmRecv(kClient);
  ArmRecv(kBackend);
}

void RelayConnection::ArmRecv(int side) {
  Flow& flow = flow_[side];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  if (flow.pending() == 0) {
    // Capped at the high-water mark: a socket that already holds a lot (a slow reader's
    // backend has filled it) cannot drain into the ring before the backpressure cancel lands.
    flow.recv_capped = uring::RecvCapSupported();
    uring::PrepRecvMultishotCapped(
        sqe, fd_[side], static_cast<unsigned>(kHighWaterChunks * worker_->buffers().buffer_size()));
  } else {
    flow.recv_capped = false;
    // The other side is behind: one buffer per recv, so this flow takes no more ring buffers
    // than the high-water mark while the backlog lasts (a multishot recv would drain the
    // socket's whole receive queue into the ring before a cancel could land).
    io_uring_prep_recv(sqe, fd_[side], nullptr, worker_->buffers().buffer_size(), 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = static_cast<__u16>(worker_->buffers().group_id());
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  flow.recv_armed = true;
  flow.recv_cancelled = false;
}

void RelayConnection::MaybeArmRecv(int side) {
  Flow& flow = flow_[side];
  if (state_ != State::kRelaying || flow.recv_armed || flow.eof) return;
  if (flow.splice) {  // the buffered bytes are out: the pipe takes over
    if (!flow.sending && flow.pending() == 0) Pump(side);
    return;
  }
  if (flow.pending() >= kHighWaterChunks) return;
  ArmRecv(side);
}

void RelayConnection::CancelRecv(int side) {
  Flow& flow = flow_[side];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_cancel64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)), 0);
  io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  flow.recv_cancelled = true;
}

// The flow from `side` filled a whole buffer: move it to a pipe if one is available. Its recv is
// cancelled; Pump starts once what is queued has been sent (MaybeArmRecv).
void RelayConnection::StartSplice(int side) {
  Flow& flow = flow_[side];
  flow.pipe_size = worker_->AcquirePipe(flow.pipe);
  if (flow.pipe_size == 0) {
    flow.no_splice = true;
    return;
  }
  if (!flow_[Other(side)].splice) {  // the first spliced direction: splice must not block
    net::SetNonBlocking(fd_[kClient]);
    net::SetNonBlocking(fd_[kBackend]);
  }
  flow.splice = true;
  if (flow.recv_armed && !flow.recv_cancelled) CancelRecv(side);
}

// Moves the bytes of the spliced flow from `from`: pipe -> destination first, then (pipe empty)
// source -> pipe, until a splice would block, which arms a single-shot poll for it. Synchronous
// non-blocking splices (see the header for why not IORING_OP_SPLICE).
void RelayConnection::Pump(int from) {
  Flow& flow = flow_[from];
  const int to = Other(from);
  bool drained = false;  // the last fill took less than the pipe holds: the source is empty
  for (int round = 0; state_ == State::kRelaying; ++round) {
    if (flow.piped > 0) {
      if (flow.poll_out) return;
      ssize_t n = SpliceOnce(flow.pipe[0], flow.piped, to, /*out=*/true);
      if (n < 0) return;
      flow.piped -= static_cast<uint32_t>(n);
      last_activity_ns_ = worker_->loop().now_ns();
      if (flow.piped > 0) {  // the destination's send buffer is full
        ArmPoll(to, true);
        return;
      }
    }
    if (flow.eof) {
      RelayEof(from);
      return;
    }
    if (flow.poll_in) return;
    if (drained || round >= kMaxPumpRounds) {
      ArmPoll(from, false);
      return;
    }
    ssize_t n = SpliceOnce(flow.pipe[1], flow.pipe_size, from, /*out=*/false);
    if (n < 0) return;
    if (n == 0) {
      flow.eof = true;
      if (first_fin_ < 0) first_fin_ = from;
      continue;  // the pipe is empty: RelayEof at the top
    }
    flow.piped = static_cast<uint32_t>(n);
    CountReceived(from, static_cast<uint64_t>(n));
    drained = static_cast<size_t>(n) < flow.pipe_size;
  }
}

// One splice between `side`'s socket and `pipe_end` (to the socket when `out`, else from it) of
// at most `len` bytes. Would it block, the poll for `side` is armed; on an error the connection
// ends. -1 in both cases, else the bytes moved (0: EOF from the socket).
ssize_t RelayConnection::SpliceOnce(int pipe_end, size_t len, int side, bool out) {
  for (;;) {
    ssize_t n =
        out ? splice(pipe_end, nullptr, fd_[side], nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
            : splice(fd_[side], nullptr, pipe_end, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      ArmPoll(side, out);
    } else {
      SocketError(side, out, errno);
    }
    return -1;
  }
}

void RelayConnection::CountReceived(int side, uint64_t n) {
  last_activity_ns_ = worker_->loop().now_ns();
  (side == kClient ? worker_->stats().bytes_from_clients : worker_->stats().bytes_from_backends)
      .Add(n);
  bytes_[side] += n;
}

// A single-shot poll: `side` readable (out false) or writable (out true) for a spliced flow.
void RelayConnection::ArmPoll(int side, bool out) {
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_poll_add(sqe, fd_[side], out ? POLLOUT : POLLIN);
  io_uring_sqe_set_data64(
      sqe, uring::UserData(this, static_cast<uint8_t>((out ? kPollOut : kPollIn) + side)));
  ++pending_ops_;
  if (out) {
    flow_[Other(side)].poll_out = true;
  } else {
    flow_[side].poll_in = true;
  }
}

void RelayConnection::OnPoll(int side, bool out) {
  --pending_ops_;
  int from = out ? Other(side) : side;
  Flow& flow = flow_[from];
  (out ? flow.poll_out : flow.poll_in) = false;
  // Errors and hang-ups are reported by the splice that follows.
  if (state_ == State::kRelaying) Pump(from);
  MaybeFinish();
}

// One plain recv into a buffer of this flow's own, used when the provided ring is empty.
void RelayConnection::ArmFallbackRecv(int side) {
  Flow& flow = flow_[side];
  uint32_t size = worker_->buffers().buffer_size();
  flow.fallback = new char[size];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[side], flow.fallback, size, 0);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  flow.recv_armed = true;
  flow.recv_cancelled = false;
  worker_->stats().buffer_fallbacks.Add(1);
}

void RelayConnection::ReleaseChunk(const Chunk& chunk) {
  if (chunk.bid >= 0) {
    worker_->ReturnBuffer(static_cast<uint16_t>(chunk.bid));
  } else if (chunk.bid == kHeapChunk) {
    delete[] chunk.heap;
  } else if (chunk.bid == kHelloChunk) {
    hello_.reset();  // the connection may live long: do not keep the bytes
  }
}

void RelayConnection::OnRecv(int side, int32_t res, uint32_t flags) {
  Flow& flow = flow_[side];
  if (!(flags & IORING_CQE_F_MORE)) {
    --pending_ops_;
    flow.recv_armed = false;
  }
  if (flags & IORING_CQE_F_BUFFER) {
    uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    worker_->buffers().Taken();
    if (res > 0 && state_ == State::kRelaying) {
      flow.queue.push_back(
          Chunk{worker_->buffers().Data(bid), static_cast<uint32_t>(res), bid, nullptr});
    } else {
      worker_->ReturnBuffer(bid);
    }
  } else if (flow.fallback != nullptr) {  // completion of the plain recv
    char* buf = flow.fallback;
    flow.fallback = nullptr;
    if (res > 0 && state_ == State::kRelaying) {
      flow.queue.push_back(Chunk{buf, static_cast<uint32_t>(res), kHeapChunk, buf});
    } else {
      delete[] buf;
    }
  }
  if (state_ != State::kRelaying) {
    MaybeFinish();
    return;
  }
  if (res > 0) {
    CountReceived(side, static_cast<uint64_t>(res));
    TrySend(side);
    if (static_cast<uint32_t>(res) == worker_->buffers().buffer_size() && !flow.splice &&
        !flow.no_splice) {
      // A full buffer: a bulk flow, which the worker's batched waits must not slow down.
      worker_->loop().ring().HoldShortWaits(1);
      StartSplice(side);
    }
    if (flow.recv_armed && !flow.recv_cancelled && flow.pending() >= kHighWaterChunks) {
      // Backpressure: the other side is not keeping up. Stop reading until it drains.
      CancelRecv(side);
    }
  } else if (res == 0) {
    flow.eof = true;
    if (first_fin_ < 0) first_fin_ = side;
    RelayEof(side);
  } else if (res == -ENOBUFS) {
    // The worker's buffer ring is empty: not an error and not EOF. Keep this flow moving with a
    // buffer of its own rather than waiting for others to return ring buffers (see header).
    if (!flow.recv_armed && !flow.splice) ArmFallbackRecv(side);
  } else if (res == -EINVAL && flow.recv_capped && !flow.recv_armed) {
    uring::RecvCapRefused();  // a kernel older than 6.17: arm again without the cap
  } else if (res != -ECANCELED) {
    SocketError(side, /*send=*/false, -res);
    return;
  }
  if (!flow.recv_armed) MaybeArmRecv(side);
  MaybeFinish();
}

// Sends what is queued from side `from` to the other side: one chunk with send, several with
// sendmsg, never more than one operation in flight per direction.
void RelayConnection::TrySend(int from) {
  Flow& flow = flow_[from];
  int to = Other(from);
  if (flow.sending || flow.pending() == 0 || state_ != State::kRelaying) return;
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  size_t n = flow.pending();
  if (n == 1) {
    const Chunk& c = flow.queue[flow.head];
    io_uring_prep_send(sqe, fd_[to], c.data, c.len, MSG_NOSIGNAL);
  } else {
    if (n > kMaxIov) n = kMaxIov;
    if (send_vector_[to] == nullptr) send_vector_[to] = std::make_unique<SendVector>();
    SendVector& v = *send_vector_[to];
    for (size_t i = 0; i < n; ++i) {
      const Chunk& c = flow.queue[flow.head + i];
      v.iov[i].iov_base = c.data;
      v.iov[i].iov_len = c.len;
    }
    msghdr& msg = v.msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_iov = v.iov;
    msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, fd_[to], &msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kSendClient + to)));
  ++pending_ops_;
  flow.sending = true;
}

void RelayConnection::OnSend(int to, int32_t res) {
  int from = Other(to);
  Flow& flow = flow_[from];
  --pending_ops_;
  flow.sending = false;
  if (state_ != State::kRelaying) {
    MaybeFinish();
    return;
  }
  if (res < 0) {
    SocketError(to, /*send=*/true, -res);
    return;
  }
  last_activity_ns_ = worker_->loop().now_ns();
  size_t left = static_cast<size_t>(res);
  while (left > 0 && flow.pending() > 0) {
    Chunk& c = flow.queue[flow.head];
    if (left < c.len) {  // partial send: the rest goes next time
      c.data += left;
      c.len -= static_cast<uint32_t>(left);
      break;
    }
    left -= c.len;
    ReleaseChunk(c);
    ++flow.head;
  }
  if (flow.pending() == 0) {
    flow.queue.clear();
    flow.head = 0;
    send_vector_[to].reset();  // only a backlog needs it: an idle connection holds none
  }
  TrySend(from);
  if (flow.pending() == 0 && flow.eof) RelayEof(from);
  MaybeArmRecv(from);
  MaybeFinish();
}

void RelayConnection::SocketError(int side, bool send, int error) {
  worker_->stats().errors.Add(1);
  if (side == kBackend && (error == ECONNRESET || (send && error == EPIPE))) {
    backend_->RecordFailure(PassiveFailure::kReset);
  }
  if (side == kClient) {
    Abort(send ? "client send failed" : "client socket error");
  } else {
    Abort(send ? "backend send failed" : "backend socket error");
  }
}

// FIN from `from`: once everything received before it has been sent, pass it on.
void RelayConnection::RelayEof(int from) {
  Flow& flow = flow_[from];
  if (flow.shut || flow.sending || flow.pending() > 0 || flow.piped > 0) return;
  shutdown(fd_[Other(from)], SHUT_WR);
  flow.shut = true;
}

void RelayConnection::OnTimer() {
  int64_t now = worker_->loop().now_ns();
  if (state_ == State::kSniffing) {
    worker_->stats().hello_timeouts.Add(1);
    Abort("no complete ClientHello within handshake_timeout");
    return;
  }
  if (state_ == State::kConnecting) {
    connector_.OnTimeout();  // the connect's completion (-ECANCELED) moves on
    return;
  }
  if (state_ != State::kRelaying) return;
  int64_t deadline = last_activity_ns_ + listener_->idle_timeout_ns;
  if (deadline > now) {
    worker_->loop().timers().Schedule(&timer_, deadline);
    return;
  }
  worker_->stats().idle_timeouts.Add(1);
  Abort("idle timeout");
}

void RelayConnection::Abort(const char* reason) {
  if (state_ == State::kClosing || state_ == State::kIdle) return;
  LOG_DEBUG("connection closed: %s", reason);
  if (close_reason_ == nullptr) close_reason_ = reason;
  state_ = State::kClosing;
  worker_->loop().timers().Cancel(&timer_);
  if (pending_ops_ > 0) CancelInFlight(worker_->loop(), fd_);
  MaybeFinish();
}

void RelayConnection::MaybeFinish() {
  if (state_ == State::kRelaying && flow_[kClient].shut && flow_[kBackend].shut) {
    // Both directions ended and were flushed: a clean finish. Only stray completions (a recv
    // cancel racing the EOF) can still be pending.
    state_ = State::kClosing;
    worker_->loop().timers().Cancel(&timer_);
  }
  if (state_ == State::kClosing && pending_ops_ == 0) Finish();
}

void RelayConnection::ReleaseChunks(Flow& flow) {
  for (size_t i = flow.head; i < flow.queue.size(); ++i) ReleaseChunk(flow.queue[i]);
  flow.queue.clear();
  flow.head = 0;
}

void RelayConnection::WriteConnectionLog() {
  log::LineSink* sink = worker_->connection_log();
  if (sink == nullptr || listener_->access_log_sample <= 0) return;
  const int64_t duration = worker_->loop().now_ns() - start_ns_;
  ConnectionRecord r;
  r.start_unix_ns = WallClockNs() - duration;
  r.duration_ns = duration;
  r.listener = listener_->config.name;
  r.mode = listener_->config.mode == ListenerMode::kTlsPassthrough ? "tls_passthrough" : "tcp";
  r.client = &client_address_;
  if (pool_ != nullptr) r.pool = pool_->config.name;
  if (backend_ != nullptr) r.backend = backend_->key;
  r.bytes_from_client = bytes_[kClient];
  r.bytes_from_backend = bytes_[kBackend];
  r.close = close_reason_ != nullptr ? close_reason_
            : first_fin_ == kBackend ? "backend closed"
                                     : "client closed";
  r.sni = sni_;
  LogConnection(sink, listener_->access_log_sample, r);
}

void RelayConnection::Finish() {
  WriteConnectionLog();
  ReleaseChunks(flow_[kClient]);
  ReleaseChunks(flow_[kBackend]);
  for (Flow& flow : flow_) {
    worker_->ReleasePipe(flow.pipe);
    if (flow.splice || flow.no_splice) worker_->loop().ring().HoldShortWaits(-1);  // was bulk
  }
  CloseSockets(worker_->loop(), fd_);
  connector_.Release();
  backend_ = nullptr;
  listener_ = nullptr;
  pool_ = nullptr;
  hello_.reset();
  for (std::unique_ptr<SendVector>& v : send_vector_) v.reset();
  state_ = State::kIdle;
  worker_->stats().closed.Add(1);
  worker_->stats().durations.Observe(static_cast<double>(worker_->loop().now_ns() - start_ns_) /
                                     1e9);
  worker_->Release(this);
}

void RelayConnection::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
  switch (op) {
    case kConnect:
      OnConnect(res);
      break;
    case kRecvClient:
    case kRecvBackend:
      OnRecv(op - kRecvClient, res, flags);
      break;
    case kSendClient:
    case kSendBackend:
      OnSend(op - kSendClient, res);
      break;
    case kSniff:
      OnSniff(res);
      break;
    case kPollIn:
    case kPollIn + 1:
      OnPoll(op - kPollIn, /*out=*/false);
      break;
    case kPollOut:
    case kPollOut + 1:
      OnPoll(op - kPollOut, /*out=*/true);
      break;
    default:
      break;
  }
}

}  // namespace edge::l4
