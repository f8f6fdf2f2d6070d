#include "common/uring/end_of_pass.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "common/uring/event_loop.h"

namespace edge::uring {
namespace {

// A task that appends its name to a log when it runs.
struct Named {
  Named(std::string n, std::string* l) : name(std::move(n)), log(l) {}
  std::string name;
  std::string* log;
  EndOfPassTask task{&Run, this};
  static void Run(void* self) {
    auto* n = static_cast<Named*>(self);
    *n->log += n->name;
  }
};

TEST(EndOfPassQueue, RunsTasksInScheduleOrderOnceEach) {
  std::string log;
  Named a{"a", &log}, b{"b", &log}, c{"c", &log};
  EndOfPassQueue queue;
  queue.Schedule(&b.task);
  queue.Schedule(&a.task);
  queue.Schedule(&b.task);  // already scheduled: keeps its place, runs once
  queue.Schedule(&c.task);
  EXPECT_TRUE(b.task.scheduled());
  queue.RunAll();
  EXPECT_EQ(log, "bac");
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(a.task.scheduled());
  queue.RunAll();
  EXPECT_EQ(log, "bac");
}

TEST(EndOfPassQueue, DestroyedTaskIsUnscheduled) {
  std::string log;
  Named a{"a", &log};
  EndOfPassQueue queue;
  queue.Schedule(&a.task);
  {
    auto gone = std::make_unique<Named>("x", &log);
    queue.Schedule(&gone->task);
  }
  queue.Schedule(&a.task);
  queue.RunAll();
  EXPECT_EQ(log, "a");
}

TEST(EndOfPassQueue, TaskMayRescheduleItselfAndDeleteOthers) {
  std::string log;
  struct Self {
    EndOfPassQueue* queue;
    std::string* log;
    std::unique_ptr<Named> victim;
    int runs = 0;
    EndOfPassTask task{&Run, this};
    static void Run(void* p) {
      auto* s = static_cast<Self*>(p);
      *s->log += "s";
      s->victim.reset();                                // deleting a scheduled task is safe
      if (++s->runs < 3) s->queue->Schedule(&s->task);  // runs again within this RunAll
    }
  };
  EndOfPassQueue queue;
  Self self{&queue, &log, std::make_unique<Named>("v", &log)};
  queue.Schedule(&self.task);
  queue.Schedule(&self.victim->task);
  queue.RunAll();
  EXPECT_EQ(log, "sss");
  EXPECT_TRUE(queue.empty());
}

TEST(EndOfPassQueue, QueueDestroyedWithTasksScheduledLeavesThemUnscheduled) {
  std::string log;
  Named a{"a", &log};
  {
    EndOfPassQueue queue;
    queue.Schedule(&a.task);
  }
  EXPECT_FALSE(a.task.scheduled());  // and a's destructor does not touch the dead queue
}

TEST(EventLoop, RunAtEndOfPassOutsideRunRunsAtOnce) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  std::string log;
  Named a{"a", &log};
  (*created)->RunAtEndOfPass(&a.task);
  EXPECT_EQ(log, "a");
}

TEST(EventLoop, RunAtEndOfPassInsideRunWaitsForTheEndOfThePass) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  EventLoop& loop = **created;
  struct Ctx {
    EventLoop* loop;
    std::string log;
    EndOfPassTask flush{&Flush, this};
    static void Flush(void* p) {
      auto* c = static_cast<Ctx*>(p);
      c->log += "F";
      c->loop->Stop();
    }
  } ctx{&loop};
  // Two closures of one pass each ask for the flush: it runs once, after both.
  loop.Post([&] {
    ctx.log += "1";
    loop.RunAtEndOfPass(&ctx.flush);
  });
  loop.Post([&] {
    ctx.log += "2";
    loop.RunAtEndOfPass(&ctx.flush);
  });
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(ctx.log, "12F");
}

}  // namespace
}  // namespace edge::uring
