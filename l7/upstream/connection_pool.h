#pragma once
// ConnectionPool: the idle keep-alive connections to one upstream server. A request takes the most
// recently returned one (its socket is the warmest and least likely to have been closed by the
// server's own idle timer); a finished request puts its connection back if the pool has room,
// else the connection is closed. Memory and descriptors per server are therefore bounded by
// max_idle, whatever the load did before.
//
// The pool does not know how a connection does I/O: it holds IdleConnections, which close
// themselves when asked and tell the pool when they die while idle (the server closed them).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edge::l7 {

class ConnectionPool;

class IdleConnection {
 public:
  virtual ~IdleConnection() = default;
  // Closes the connection (asynchronously if it must): it is no longer in any pool.
  virtual void CloseIdle() = 0;

 private:
  friend class ConnectionPool;
  ConnectionPool* pool_ = nullptr;  // set while idle in a pool

 public:
  bool idle() const { return pool_ != nullptr; }
  ConnectionPool* pool() const { return pool_; }
};

class ConnectionPool {
 public:
  explicit ConnectionPool(uint32_t max_idle) : max_idle_(max_idle) {}
  ~ConnectionPool();  // closes every idle connection
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // The most recently returned idle connection (no longer idle), or nullptr.
  IdleConnection* Take();
  // Returns a connection whose request completed cleanly. Closed instead when the pool is full.
  void Put(IdleConnection* connection);
  // An idle connection that died (the server closed it): forget it. No-op when not ours.
  void Remove(IdleConnection* connection);
  // Closes every idle connection (reload: the server's config went away).
  void CloseAll();

  size_t idle_count() const { return idle_.size(); }
  uint32_t max_idle() const { return max_idle_; }
  uint64_t reused() const { return reused_; }

 private:
  uint32_t max_idle_;
  std::vector<IdleConnection*> idle_;
  uint64_t reused_ = 0;
};

}  // namespace edge::l7
