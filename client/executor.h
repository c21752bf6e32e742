// Task runners of the push consumer: Scheduler, one thread running tasks at their due time
// (pull dispatch, rebalance, heartbeats, offset persistence, delayed re-consumption), and
// ThreadPool, the consume pool (consumeThreadMin..consumeThreadMax threads).
// Thread-safety: Post/Submit from any thread (callbacks included); Stop from any thread but the
// runner's own.
#ifndef CLIENT_EXECUTOR_H_
#define CLIENT_EXECUTOR_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rsclient {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs fn on the scheduler thread after `delay` (tasks due at the same time run in the order
  // posted). Ignored after Stop.
  void PostAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  void Post(std::function<void()> fn) { PostAfter(std::chrono::milliseconds(0), std::move(fn)); }
  // Drops the pending tasks, waits for the running one and joins. Idempotent.
  void Stop();
  bool InSchedulerThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  uint64_t seq_ = 0;
  std::map<std::pair<std::chrono::steady_clock::time_point, uint64_t>, std::function<void()>>
      tasks_;
  std::thread thread_;
};

// A pool of min_threads..max_threads threads over one FIFO queue. It starts min_threads
// threads and adds one (up to max_threads) when a task is submitted while none is idle and more
// tasks wait than threads exist. Threads stay until Stop.
class ThreadPool {
 public:
  ThreadPool(size_t min_threads, size_t max_threads);
  ~ThreadPool();  // Stop()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues fn; false (fn dropped) after Stop.
  bool Submit(std::function<void()> fn);
  // Drops the queued tasks, waits for the running ones and joins. Idempotent; not from a pool
  // thread.
  void Stop();
  size_t threads();

 private:
  void Worker();

  const size_t min_threads_;
  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  size_t live_ = 0;
  size_t idle_ = 0;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace rsclient

#endif  // CLIENT_EXECUTOR_H_
