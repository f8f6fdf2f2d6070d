#include "l4/worker.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/net/socket.h"
#include "common/net/splice_pipe.h"
#include "common/uring/stream_socket.h"

namespace edge::l4 {

namespace {
constexpr int kBufferGroup = 1;
}  // namespace

Worker::Worker(int id, std::shared_ptr<const Runtime> runtime, SharedCounters* shared,
               std::vector<ListenSocket> sockets)
    : id_(id), runtime_(std::move(runtime)), shared_(shared), sockets_(std::move(sockets)) {}

Worker::~Worker() {
  Join();
  // Connections and listeners reference the loop: destroy them before it.
  if (loop_ != nullptr) loop_->timers().Cancel(&drain_timer_);
  listeners_.clear();
  retired_listeners_.clear();
  connections_.clear();
  buffers_.reset();
  loop_.reset();
  for (const ListenSocket& s : sockets_) {
    if (s.fd >= 0) close(s.fd);
  }
}

absl::Status Worker::Start() {
  std::promise<absl::Status> ready;
  std::future<absl::Status> result = ready.get_future();
  thread_ = std::thread([this, &ready] { ThreadMain(&ready); });
  absl::Status status = result.get();
  if (!status.ok()) Join();
  return status;
}

absl::Status Worker::Setup() {
  uring::RingOptions ro;
  ro.min_wait_usec = runtime_->config.batch_wait_us;
  ro.adaptive_batch = true;  // the long wait only while busy, and never under a bulk flow
  auto loop = uring::EventLoop::Create(ro);
  if (!loop.ok()) return loop.status();
  loop_ = std::move(*loop);
  const Lb4Config& config = runtime_->config;
  auto buffers = uring::ProvidedBufferRing::Create(&loop_->ring(), kBufferGroup,
                                                   config.buffers_per_worker, config.buffer_size);
  if (!buffers.ok()) return buffers.status();
  buffers_ = std::move(*buffers);
  if (config.splice) net::SpliceSupported();  // probed (and logged) once, at start
  UpdateSourceTables(*runtime_);
  for (ListenSocket& s : sockets_) {
    listeners_.push_back(
        std::make_unique<TcpListener>(this, s.fd, runtime_->listeners[s.listener]));
    listeners_.back()->set_source_table(SourceTableFor(*runtime_->listeners[s.listener]));
    s.fd = -1;  // owned by the listener now
    listeners_.back()->Arm();
  }
  sockets_.clear();
  return absl::OkStatus();
}

void Worker::ThreadMain(std::promise<absl::Status>* ready) {
  std::string name = absl::StrFormat("lb4-w%d", id_);
  pthread_setname_np(pthread_self(), name.c_str());
  absl::Status status = Setup();
  bool ok = status.ok();
  ready->set_value(status);  // `ready` dies with Start(): not touched after this line
  if (!ok) return;
  absl::Status run = loop_->Run();
  if (!run.ok()) {
    LOG_ERROR("worker %d: %s", id_, run.message());
    std::_Exit(1);  // the ring is broken: nothing on this worker can make progress
  }
  // The connections Stop() aborted wait for completions that will not come now: their sockets
  // are released here, on this thread, and the connections end (counted, logged) before the
  // worker is destroyed.
  uring::StreamSocket::LoopStopped();
}

void Worker::BeginDrain() {
  if (loop_ == nullptr || !thread_.joinable()) return;
  loop_->Post([this] {
    draining_ = true;
    for (auto& listener : listeners_) listener->Close();
    CheckListenersClosed();
  });
}

bool Worker::ListenersClosed() const {
  return loop_ == nullptr || !thread_.joinable() ||
         listeners_closed_.load(std::memory_order_acquire);
}

void Worker::CheckListenersClosed() {
  if (!draining_) return;
  for (const auto& l : listeners_) {
    if (!l->closed()) return;
  }
  for (const auto& l : retired_listeners_) {
    if (!l->closed()) return;
  }
  listeners_closed_.store(true, std::memory_order_release);
}

void Worker::ApplyRuntime(std::shared_ptr<const Runtime> runtime,
                          std::vector<ListenSocket> new_sockets) {
  if (loop_ == nullptr || !thread_.joinable()) {
    for (const ListenSocket& s : new_sockets) close(s.fd);
    return;
  }
  loop_->Post([this, runtime = std::move(runtime), new_sockets = std::move(new_sockets)]() mutable {
    std::vector<std::unique_ptr<TcpListener>> next;
    for (const ListenSocket& s : new_sockets) {
      next.push_back(std::make_unique<TcpListener>(this, s.fd, runtime->listeners[s.listener]));
      next.back()->Arm();
    }
    for (const auto& lr : runtime->listeners) {
      for (auto& old : listeners_) {
        if (old != nullptr && old->runtime().config.bind == lr->config.bind) {
          old->set_runtime(lr);
          next.push_back(std::move(old));
        }
      }
    }
    for (auto& old : listeners_) {
      if (old == nullptr) continue;
      old->Close();
      retired_listeners_.push_back(std::move(old));
    }
    listeners_ = std::move(next);
    UpdateSourceTables(*runtime);
    for (auto& l : listeners_) l->set_source_table(SourceTableFor(l->runtime()));
    runtime_ = std::move(runtime);
    // Not re-armed by every reload (frequent reloads would push it back forever): each removed
    // backend has its own deadline, checked when this fires.
    if (!drain_timer_.armed()) {
      loop_->timers().Schedule(
          &drain_timer_,
          loop_->now_ns() + absl::ToInt64Nanoseconds(runtime_->config.drain_timeout));
    }
  });
}

bool Worker::WaitPosted(absl::Duration timeout) {
  if (loop_ == nullptr || !thread_.joinable()) return true;
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> ran = done->get_future();
  loop_->Post([done] { done->set_value(); });
  return ran.wait_for(absl::ToChronoNanoseconds(timeout)) == std::future_status::ready;
}

std::vector<std::pair<net::SocketAddress, int>> Worker::DupListenSockets() {
  std::vector<std::pair<net::SocketAddress, int>> out;
  if (loop_ == nullptr || !thread_.joinable()) return out;
  std::promise<void> done;
  loop_->Post([this, &out, &done] {
    for (const auto& l : listeners_) {
      if (l->fd() < 0) continue;
      int copy = fcntl(l->fd(), F_DUPFD_CLOEXEC, 0);
      if (copy >= 0) out.emplace_back(l->runtime().config.bind, copy);
    }
    done.set_value();
  });
  done.get_future().wait();
  return out;
}

void Worker::EndRemovedBackendConnections() {
  const int64_t now = loop_->now_ns();
  const int64_t drain = absl::ToInt64Nanoseconds(runtime_->config.drain_timeout);
  int64_t next_deadline = 0;
  std::vector<RelayConnection*> doomed;
  for (RelayConnection* c = live_head_; c != nullptr; c = c->next) {
    const Backend* b = c->backend();
    if (b == nullptr || !b->removed.load(std::memory_order_relaxed)) continue;
    int64_t deadline = b->removed_at_ns.load(std::memory_order_relaxed) + drain;
    if (deadline <= now) {
      doomed.push_back(c);
    } else if (next_deadline == 0 || deadline < next_deadline) {
      next_deadline = deadline;
    }
  }
  if (next_deadline != 0) loop_->timers().Schedule(&drain_timer_, next_deadline);
  for (RelayConnection* c : doomed) c->Abort("backend removed by reload; drain_timeout passed");
  if (!doomed.empty()) {
    LOG_INFO("worker %d: ended %d connections to removed backends after drain_timeout", id_,
             static_cast<int>(doomed.size()));
  }
}

void Worker::Stop() {
  if (loop_ == nullptr || !thread_.joinable()) return;
  loop_->Post([this] {
    for (auto& listener : listeners_) listener->Close();
    std::vector<RelayConnection*> live;
    for (RelayConnection* c = live_head_; c != nullptr; c = c->next) live.push_back(c);
    for (RelayConnection* c : live) c->Abort("shutting down");
    loop_->Stop();
  });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::UpdateSourceTables(const Runtime& runtime) {
  std::unordered_map<std::string, std::shared_ptr<SourceTable>> tables;
  for (const auto& lr : runtime.listeners) {
    if (lr->guard == nullptr || !lr->guard->per_source()) continue;
    std::shared_ptr<SourceTable>& table = tables[lr->config.name];
    auto old = source_tables_.find(lr->config.name);
    if (old != source_tables_.end() && old->second->capacity() == lr->guard->table_size()) {
      table = old->second;
    } else {
      table = std::make_shared<SourceTable>(lr->guard->table_size());
    }
  }
  // Tables left out stay alive while connections hold tickets on them.
  source_tables_ = std::move(tables);
}

std::shared_ptr<SourceTable> Worker::SourceTableFor(const ListenerRuntime& listener) const {
  auto it = source_tables_.find(listener.config.name);
  return it != source_tables_.end() ? it->second : nullptr;
}

bool Worker::Screen(int fd, const ListenerRuntime& listener,
                    const std::shared_ptr<SourceTable>& table, const net::SocketAddress& peer,
                    SourceTicket* ticket) {
  if (!peer.valid()) {  // gone (reset) between accept and getpeername: nothing to serve
    stats_.errors.Add(1);
    close(fd);
    return false;
  }
  const SourceGuard::Result result = listener.guard->Screen(peer, table.get(), loop_->now_ns());
  if (result.refusal.has_value()) {
    listener.counters->refused[static_cast<size_t>(*result.refusal)].fetch_add(
        1, std::memory_order_relaxed);
    LOG_DEBUG("listener \"%s\": refused %s: %s", listener.config.name, peer.IpString(),
              RefusalName(*result.refusal));
    close(fd);
    return false;
  }
  if (result.verdict == SourceTable::Verdict::kAdmitted) {
    ticket->table = table;
    ticket->slot = result.slot;
  } else if (table != nullptr && listener.guard->per_source()) {
    listener.counters->untracked.fetch_add(1, std::memory_order_relaxed);
    const int64_t now = loop_->now_ns();
    if (now >= table->full_logged_until_ns) {
      table->full_logged_until_ns = now + 60'000'000'000;
      LOG_WARN(
          "listener \"%s\": worker %d: all %d entries of the per-source table have live "
          "connections; new sources are admitted without per-source limits (source_table_size)",
          listener.config.name, id_, static_cast<int>(table->capacity()));
    }
  }
  return true;
}

void Worker::OnAccepted(int fd, const std::shared_ptr<const ListenerRuntime>& listener,
                        const std::shared_ptr<SourceTable>& source_table) {
  stats_.accepted.Add(1);
  SourceTicket ticket;
  net::SocketAddress peer;
  const net::SocketAddress* known_peer = nullptr;
  if (listener->guard != nullptr) [[unlikely]] {  // the only cost without protection
    peer = net::PeerAddress(fd);
    known_peer = &peer;
    if (!Screen(fd, *listener, source_table, peer, &ticket)) return;
  }
  if (shared_->active.fetch_add(1, std::memory_order_relaxed) >=
      static_cast<int64_t>(runtime_->config.max_connections)) {
    shared_->active.fetch_sub(1, std::memory_order_relaxed);
    stats_.refused_max.Add(1);
    ticket.Release();
    close(fd);
    return;
  }
  RelayConnection* c;
  if (!free_.empty()) {
    c = free_.back();
    free_.pop_back();
  } else {
    connections_.push_back(std::make_unique<RelayConnection>(this));
    c = connections_.back().get();
  }
  c->prev = nullptr;
  c->next = live_head_;
  if (live_head_ != nullptr) live_head_->prev = c;
  live_head_ = c;
  live_.fetch_add(1, std::memory_order_relaxed);
  c->source = std::move(ticket);
  c->Start(fd, listener, known_peer);
}

void Worker::Release(RelayConnection* c) {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    live_head_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  c->source.Release();
  free_.push_back(c);
  live_.fetch_sub(1, std::memory_order_relaxed);
  shared_->active.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::ReturnBuffer(uint16_t bid) { buffers_->Recycle(bid); }

uint32_t Worker::AcquirePipe(int (&fds)[2]) {
  const Lb4Config& config = runtime_->config;
  if (!config.splice || !net::SpliceSupported()) return 0;
  if (shared_->pipes.fetch_add(1, std::memory_order_relaxed) <
      static_cast<int64_t>(config.max_pipes)) {
    size_t capacity = net::CreateSplicePipe(config.splice_pipe_size, fds);
    // Over the user's fs.pipe-user-pages-soft the kernel hands out 2-page pipes: a splice per
    // 8 KiB would cost more than the buffer path.
    if (capacity >= 64 * 1024) {
      stats_.splice_flows.Add(1);
      return static_cast<uint32_t>(capacity);
    }
    if (capacity > 0) net::CloseSplicePipe(fds);
  }
  shared_->pipes.fetch_sub(1, std::memory_order_relaxed);
  stats_.splice_refused.Add(1);
  return 0;
}

void Worker::ReleasePipe(int (&fds)[2]) {
  if (fds[0] < 0) return;
  net::CloseSplicePipe(fds);
  shared_->pipes.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace edge::l4
