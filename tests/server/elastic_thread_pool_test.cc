// ElasticThreadPool: accepted work always runs, shutdown joins every worker, and work offered
// after (or while) shutdown begins is refused cleanly. Run under TSan by CI ("concurrency").
#include "kms_envelope/server/elastic_thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace kms_envelope {
namespace server {
namespace {

TEST(ElasticThreadPool, RunsEveryAcceptedTaskBeforeShutdownReturns) {
  std::atomic<int> ran{0};
  ElasticThreadPool pool(2, 4);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.TryEnqueue([&ran] {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ran.fetch_add(1);
    }));
  }
  pool.shutdown();  // the queue is still full here: shutdown drains it, then joins
  EXPECT_EQ(ran.load(), 50);
}

TEST(ElasticThreadPool, GrowsUpToItsMaximumWhenTasksWait) {
  std::atomic<bool> release{false};
  std::atomic<int> running{0};
  ElasticThreadPool pool(1, 3);
  EXPECT_EQ(pool.thread_count(), 1u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.TryEnqueue([&] {
      running.fetch_add(1);
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }));
  }
  while (running.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pool.thread_count(), 3u);
  EXPECT_EQ(running.load(), 3);  // the other two wait: no fourth thread
  release = true;
  pool.shutdown();
  EXPECT_EQ(running.load(), 5);
}

TEST(ElasticThreadPool, RefusesWorkAfterShutdownWithoutRunningOrKeepingIt) {
  ElasticThreadPool pool(2, 8);
  pool.shutdown();
  auto captured = std::make_shared<int>(7);
  bool ran = false;
  EXPECT_FALSE(pool.TryEnqueue([&ran, captured] { ran = true; }));
  EXPECT_FALSE(ran);
  EXPECT_EQ(captured.use_count(), 1);  // the refused task was destroyed, not parked
  pool.enqueue([&ran] { ran = true; });  // httplib's entry point refuses the same way
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.thread_count(), 2u);  // no thread started for refused work
  pool.shutdown();                      // idempotent
}

TEST(ElasticThreadPool, EnqueueRacingShutdownEitherRunsOrIsRefused) {
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    std::atomic<int> ran{0};
    std::atomic<bool> go{false};
    auto pool = std::make_unique<ElasticThreadPool>(1, 16);
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p) {
      producers.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 200; ++i) {
          if (pool->TryEnqueue([&ran] { ran.fetch_add(1); })) {
            accepted.fetch_add(1);
          } else {
            refused.fetch_add(1);
          }
        }
      });
    }
    std::thread stopper([&] {
      while (!go.load()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::microseconds(50 * (round % 5)));
      pool->shutdown();
    });
    go = true;
    for (std::thread& t : producers) t.join();
    stopper.join();
    pool->shutdown();  // a second shutdown after the racing one: returns, nothing left
    EXPECT_EQ(accepted.load() + refused.load(), 800);
    EXPECT_EQ(ran.load(), accepted.load()) << "round " << round;
    EXPECT_LE(pool->thread_count(), 16u);
    pool.reset();
  }
}

TEST(ElasticThreadPool, ConcurrentShutdownsBothWaitForTheWorkers) {
  std::atomic<int> ran{0};
  ElasticThreadPool pool(2, 2);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pool.TryEnqueue([&ran] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ran.fetch_add(1);
    }));
  }
  std::atomic<int> seen_by_second{-1};
  std::thread second([&] {
    pool.shutdown();
    seen_by_second = ran.load();
  });
  pool.shutdown();
  second.join();
  EXPECT_EQ(ran.load(), 4);
  EXPECT_EQ(seen_by_second.load(), 4);
}

}  // namespace
}  // namespace server
}  // namespace kms_envelope
