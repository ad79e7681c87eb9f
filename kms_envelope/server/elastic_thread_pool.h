// The worker pool KmsServer gives cpp-httplib (Server::new_task_queue).
//
//   auto pool = std::make_unique<ElasticThreadPool>(/*min=*/4, /*max=*/kMaxServerThreads);
//   if (!pool->TryEnqueue([] { ... })) { /* shutting down: the task did not run */ }
//   pool->shutdown();  // runs what was accepted, joins every worker
//
// httplib serves a connection on one worker thread from accept to close, and a slow client
// (slowloris: a byte every few hundred ms never trips the per-read timeout) holds its worker for
// as long as it likes. With a fixed pool, `min` such clients starve everyone else. This pool keeps
// `min` workers and starts another whenever a task would otherwise wait, up to `max`; workers
// started that way stay until shutdown.
//
// Contract:
// - Thread-safe: TryEnqueue/enqueue and shutdown may race from any threads (none of them a
//   worker of this pool).
// - Every task accepted (TryEnqueue returned true) runs exactly once, also when shutdown starts
//   before a worker picks it up; shutdown returns only after all accepted tasks finished and every
//   worker thread was joined. A second or concurrent shutdown waits for the same.
// - Once shutdown has begun, TryEnqueue refuses: it returns false, does not run the task and
//   destroys it before returning, and starts no thread.
// - httplib 0.11.4's TaskQueue::enqueue returns void, so `enqueue` cannot report a refusal to
//   httplib; in 0.11.4 httplib calls enqueue and shutdown from its one accept thread, so the
//   refusal cannot happen there. (From httplib 0.14 on, enqueue returns bool and httplib closes
//   a refused connection: `enqueue` should then return TryEnqueue's result.)
#ifndef KMS_ENVELOPE_SERVER_ELASTIC_THREAD_POOL_H_
#define KMS_ENVELOPE_SERVER_ELASTIC_THREAD_POOL_H_

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kms_envelope {
namespace server {

class ElasticThreadPool : public httplib::TaskQueue {
 public:
  // Starts `min` workers now; grows to at most max(min, max).
  ElasticThreadPool(size_t min, size_t max);
  ~ElasticThreadPool() override;  // shutdown()

  ElasticThreadPool(const ElasticThreadPool&) = delete;
  ElasticThreadPool& operator=(const ElasticThreadPool&) = delete;

  // Queues `fn` for a worker; false (fn destroyed, not run) once shutdown has begun.
  [[nodiscard]] bool TryEnqueue(std::function<void()> fn);

  // httplib::TaskQueue. See the contract above for why a refusal is silent here.
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // Worker threads started so far (for tests and diagnostics).
  size_t thread_count() const;

 private:
  void SpawnLocked();
  void Work();

  const size_t max_;
  std::mutex join_mu_;  // held by the shutdown that joins, so a second one waits for it
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  std::vector<std::thread> threads_;        // guarded by mu_; grows only before shutdown_
  size_t idle_ = 0;                         // guarded by mu_
  bool shutdown_ = false;                   // guarded by mu_
};

}  // namespace server
}  // namespace kms_envelope

#endif  // KMS_ENVELOPE_SERVER_ELASTIC_THREAD_POOL_H_
