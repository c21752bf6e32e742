// Scheduler and ThreadPool (see executor.h).
// Thread-safety: each class's mutex guards its queue and flags; tasks run without it.
#include "client/executor.h"

namespace rsclient {

Scheduler::Scheduler() : thread_([this] { Loop(); }) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::PostAfter(std::chrono::milliseconds delay, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    auto it = tasks_
                  .emplace(std::make_pair(std::chrono::steady_clock::now() + delay, seq_++),
                           std::move(fn))
                  .first;
    // The loop sleeps until its first task is due: only a new first task changes that.
    if (it != tasks_.begin()) return;
  }
  cv_.notify_one();
}

void Scheduler::Stop() {
  std::map<std::pair<std::chrono::steady_clock::time_point, uint64_t>, std::function<void()>>
      dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    dropped.swap(tasks_);
  }
  cv_.notify_all();
  if (thread_.joinable() && !InSchedulerThread()) thread_.join();
  // `dropped` is destroyed here, outside the lock: tasks may own objects whose destructors post.
}

void Scheduler::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_) {
    if (tasks_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = tasks_.begin();
    if (first->first.first > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, first->first.first);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    tasks_.erase(first);
    lock.unlock();
    fn();
    fn = nullptr;
    lock.lock();
  }
}

ThreadPool::ThreadPool(size_t min_threads, size_t max_threads)
    : min_threads_(min_threads == 0 ? 1 : min_threads),
      max_threads_(max_threads < min_threads_ ? min_threads_ : max_threads) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < min_threads_; ++i) {
    ++live_;
    threads_.emplace_back([this] { Worker(); });
  }
}

ThreadPool::~ThreadPool() { Stop(); }

bool ThreadPool::Submit(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return false;
    queue_.push_back(std::move(fn));
    if (idle_ == 0 && queue_.size() > live_ && live_ < max_threads_) {
      ++live_;
      threads_.emplace_back([this] { Worker(); });
    }
    if (idle_ == 0) return true;  // every worker is busy and re-checks the queue before waiting
  }
  cv_.notify_one();
  return true;
}

size_t ThreadPool::threads() {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

void ThreadPool::Stop() {
  std::deque<std::function<void()>> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    dropped.swap(queue_);
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // Stop from a pool thread: programmer error, but do not deadlock
    } else {
      t.join();
    }
  }
}

void ThreadPool::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopped_) break;
    if (queue_.empty()) {
      ++idle_;
      cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
      --idle_;
      continue;
    }
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    fn();
    fn = nullptr;
    lock.lock();
  }
  --live_;
}

}  // namespace rsclient
