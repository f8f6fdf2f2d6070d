#include "l7/upstream/connection_pool.h"

#include <algorithm>

namespace edge::l7 {

ConnectionPool::~ConnectionPool() { CloseAll(); }

IdleConnection* ConnectionPool::Take() {
  if (idle_.empty()) return nullptr;
  IdleConnection* c = idle_.back();
  idle_.pop_back();
  c->pool_ = nullptr;
  ++reused_;
  return c;
}

void ConnectionPool::Put(IdleConnection* connection) {
  if (idle_.size() >= max_idle_) {
    connection->CloseIdle();
    return;
  }
  connection->pool_ = this;
  idle_.push_back(connection);
}

void ConnectionPool::Remove(IdleConnection* connection) {
  if (connection->pool_ != this) return;
  connection->pool_ = nullptr;
  auto it = std::find(idle_.begin(), idle_.end(), connection);
  if (it != idle_.end()) idle_.erase(it);
}

void ConnectionPool::CloseAll() {
  std::vector<IdleConnection*> all;
  all.swap(idle_);
  for (IdleConnection* c : all) {
    c->pool_ = nullptr;
    c->CloseIdle();
  }
}

}  // namespace edge::l7
