#include "kms_envelope/server/elastic_thread_pool.h"

#include <algorithm>
#include <utility>

namespace kms_envelope {
namespace server {

ElasticThreadPool::ElasticThreadPool(size_t min, size_t max) : max_(std::max(min, max)) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < min; ++i) SpawnLocked();
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

bool ElasticThreadPool::TryEnqueue(std::function<void()> fn) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (shutdown_) {
      // Destroy the task (and what it captured) outside the lock.
      lock.unlock();
      fn = nullptr;
      return false;
    }
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_) SpawnLocked();
  }
  cv_.notify_one();
  return true;
}

void ElasticThreadPool::enqueue(std::function<void()> fn) {
  // httplib 0.11.4 has no way to hear a refusal (void enqueue); see the header.
  (void)TryEnqueue(std::move(fn));
}

void ElasticThreadPool::shutdown() {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  // TryEnqueue starts no thread once shutdown_ is set, so threads_ no longer changes; the
  // mutex above orders every earlier push_back before this read.
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t ElasticThreadPool::thread_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

void ElasticThreadPool::SpawnLocked() {
  threads_.emplace_back([this] { Work(); });
}

void ElasticThreadPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // shutdown_ and nothing left to do
    std::function<void()> fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    fn();
    fn = nullptr;  // release what the task captured before taking the lock again
    lock.lock();
  }
}

}  // namespace server
}  // namespace kms_envelope
