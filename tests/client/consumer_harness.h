// Harness of the consumer tests: a real namesrvd and a brokerd registered with it (short delay
// levels, so retries come back after 1 s), topic creation, a small producer (SEND_MESSAGE_V2
// over RemotingClient), a recorder of what listeners received, and waits for a group's queues
// to be split as AllocateMessageQueueAveragely says. Every wait is bounded.
// Thread-safety: Cluster is used from the test thread; Recorder from any thread.
#ifndef TESTS_CLIENT_CONSUMER_HARNESS_H_
#define TESTS_CLIENT_CONSUMER_HARNESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "absl/strings/str_split.h"
#include "client/consumer_common.h"
#include "client/push_consumer.h"
#include "client/rebalance.h"
#include "client/remoting_client.h"
#include "client/route.h"
#include "gtest/gtest.h"

namespace consumer_test {

using rsclient::ConsumedMessage;
using rsclient::MessageQueue;
using rsclient::PushConsumer;
using rsclient::PushConsumerOptions;
using rsclient::RemotingCommand;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Polls cond every 20 ms until it holds or `limit` passes.
template <typename Cond>
bool WaitFor(Cond cond, milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

struct SendSpec {
  std::string topic;
  int queue_id = 0;
  std::string body;
  std::string tags;
  std::string uniq_key;  // "" -> none
  int sys_flag = 0;
};

class Cluster {
 public:
  Cluster() : namesrv_client_(std::make_unique<rsclient::RemotingClient>()) {}
  ~Cluster() { client_.Shutdown(); }

  // `extra`: more broker.conf lines.
  bool Start(const std::string& extra = "") {
    if (!ns_.Start()) return false;
    std::string levels;
    for (int i = 0; i < 18; ++i) levels += i == 0 ? "1s" : " 1s";
    broker_.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(ns_.port()) +
                             "\nmessageDelayLevel=" + levels + "\n" + extra);
    if (!broker_.Start()) return false;
    namesrv_ = std::make_unique<rsclient::NameServers>(
        namesrv_client_.get(), std::vector<std::string>{namesrv()}, milliseconds(3000));
    return true;
  }
  std::string namesrv() const { return "127.0.0.1:" + std::to_string(ns_.port()); }
  std::string broker_addr() const { return "127.0.0.1:" + std::to_string(broker_.port()); }
  brokerd_test::Brokerd& broker() { return broker_; }

  // UPDATE_AND_CREATE_TOPIC, then waits until the name server routes all its queues.
  bool CreateTopic(const std::string& topic, int queues) {
    RemotingCommand r = brokerd_test::Request(17, {{"topic", topic},
                                                   {"readQueueNums", std::to_string(queues)},
                                                   {"writeQueueNums", std::to_string(queues)},
                                                   {"perm", "6"},
                                                   {"topicFilterType", "SINGLE_TAG"}});
    auto resp = client_.InvokeSync(broker_addr(), r, seconds(10));
    if (!resp.ok() || resp->code != 0) return false;
    return WaitFor(
        [&] {
          auto route = namesrv_->FetchRoute(topic);
          return route.ok() && route->ReadableQueues(topic).size() == static_cast<size_t>(queues);
        },
        seconds(15));
  }

  std::vector<MessageQueue> Queues(const std::string& topic, int n) const {
    std::vector<MessageQueue> out;
    for (int i = 0; i < n; ++i) out.push_back(MessageQueue{topic, "broker-a", i});
    return out;
  }

  static RemotingCommand SendRequest(const SendSpec& s) {
    std::string props;
    if (!s.tags.empty()) props += "TAGS\x01" + s.tags + "\x02";
    if (!s.uniq_key.empty()) props += "UNIQ_KEY\x01" + s.uniq_key + "\x02";
    props += "WAIT\x01true\x02";
    RemotingCommand cmd = brokerd_test::Request(310, {{"a", "TestProducerGroup"},
                                                      {"b", s.topic},
                                                      {"c", "TBW102"},
                                                      {"d", "4"},
                                                      {"e", std::to_string(s.queue_id)},
                                                      {"f", std::to_string(s.sys_flag)},
                                                      {"g", std::to_string(NowMs())},
                                                      {"h", "0"},
                                                      {"i", props},
                                                      {"j", "0"},
                                                      {"k", "false"},
                                                      {"m", "false"},
                                                      {"n", "broker-a"}});
    cmd.body = s.body;
    return cmd;
  }

  // One synchronous send; the queue offset, or -1.
  int64_t Send(const SendSpec& s) {
    auto resp = client_.InvokeSync(broker_addr(), SendRequest(s), seconds(10));
    if (!resp.ok() || resp->code != 0) {
      ADD_FAILURE() << "send failed: "
                    << (resp.ok() ? std::to_string(resp->code) + " " + resp->remark.value_or("")
                                  : resp.status().ToString());
      return -1;
    }
    return std::stoll(*resp->FindExtField("queueOffset"));
  }

  // Pipelined sends; true when every one was stored. Messages of one queue keep their order
  // (one connection, answered in order by the broker's single network thread).
  bool SendAll(const std::vector<SendSpec>& specs) {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0, ok = 0;
    for (const SendSpec& s : specs) {
      client_.InvokeAsync(broker_addr(), SendRequest(s), seconds(15),
                          [&](absl::StatusOr<RemotingCommand> r) {
                            std::lock_guard<std::mutex> lock(mu);
                            ++done;
                            if (r.ok() && r->code == 0) ++ok;
                            cv.notify_all();
                          });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, seconds(30), [&] { return done == specs.size(); });
    const bool all = done == specs.size() && ok == specs.size();
    if (done != specs.size()) {
      // Callbacks still reference the locals: wait them out before returning.
      cv.wait(lock, [&] { return done == specs.size(); });
    }
    return all;
  }

  // The group's committed offset of a queue on the broker (-1 when none).
  int64_t Committed(const std::string& group, const MessageQueue& mq) {
    RemotingCommand r = brokerd_test::Request(
        14,
        {{"consumerGroup", group}, {"topic", mq.topic}, {"queueId", std::to_string(mq.queue_id)}});
    auto resp = client_.InvokeSync(broker_addr(), r, seconds(5));
    if (!resp.ok() || resp->code != 0) return -1;
    return std::stoll(*resp->FindExtField("offset"));
  }
  int64_t MaxOffset(const MessageQueue& mq) {
    RemotingCommand r =
        brokerd_test::Request(30, {{"topic", mq.topic}, {"queueId", std::to_string(mq.queue_id)}});
    auto resp = client_.InvokeSync(broker_addr(), r, seconds(5));
    if (!resp.ok() || resp->code != 0) return -1;
    return std::stoll(*resp->FindExtField("offset"));
  }

 private:
  brokerd_test::Namesrvd ns_;
  brokerd_test::Brokerd broker_;
  rsclient::RemotingClient client_;
  std::unique_ptr<rsclient::RemotingClient> namesrv_client_;
  std::unique_ptr<rsclient::NameServers> namesrv_;
};

// What listeners received: per consumer name, the messages in arrival order.
class Recorder {
 public:
  struct Entry {
    std::string consumer;
    ConsumedMessage msg;
    std::chrono::steady_clock::time_point at;
  };

  void Add(const std::string& consumer, const std::vector<ConsumedMessage>& msgs) {
    std::lock_guard<std::mutex> lock(mu_);
    max_batch_ = std::max(max_batch_, msgs.size());
    for (const ConsumedMessage& m : msgs) {
      entries_.push_back({consumer, m, std::chrono::steady_clock::now()});
      ++count_[m.body];
    }
    cv_.notify_all();
  }
  // Waits until `bodies` have each been received at least once.
  bool WaitAll(const std::vector<std::string>& bodies, milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      return std::all_of(bodies.begin(), bodies.end(),
                         [&](const std::string& b) { return count_.contains(b); });
    });
  }
  bool WaitCount(size_t n, milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return entries_.size() >= n; });
  }
  std::map<std::string, int> Counts() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::vector<Entry> Entries() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
  }
  // The largest batch one listener call received.
  size_t max_batch() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_batch_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  std::map<std::string, int> count_;
  size_t max_batch_ = 0;
};

inline std::vector<MessageQueue> OfTopic(const std::vector<MessageQueue>& in,
                                         const std::string& topic) {
  std::vector<MessageQueue> out;
  for (const MessageQueue& mq : in) {
    if (mq.topic == topic) out.push_back(mq);
  }
  return out;
}

// Waits until each consumer holds exactly its AllocateAveragely share of `all`.
inline bool WaitBalanced(const std::vector<PushConsumer*>& consumers,
                         const std::vector<MessageQueue>& all, milliseconds limit = seconds(20)) {
  std::vector<std::string> ids;
  for (PushConsumer* c : consumers) ids.push_back(c->client_id());
  std::sort(ids.begin(), ids.end());
  return WaitFor(
      [&] {
        for (PushConsumer* c : consumers) {
          std::vector<MessageQueue> want = rsclient::AllocateAveragely(all, ids, c->client_id());
          if (OfTopic(c->AssignedQueues(), all.front().topic) != want) return false;
        }
        return true;
      },
      limit);
}

// Runs this test binary again as a child process running only the (DISABLED_) test `filter`,
// with the extra environment entry `env` ("NAME=value"); returns its pid, or -1.
inline pid_t SpawnChildTest(const std::string& filter, const std::string& env) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(env);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string filter_arg = "--gtest_filter=" + filter;
  std::string also = "--gtest_also_run_disabled_tests";
  char* argv[] = {const_cast<char*>("consumer_test"), filter_arg.data(), also.data(), nullptr};
  pid_t child = ::fork();
  if (child == 0) {
    ::execve("/proc/self/exe", argv, envp.data());
    ::_exit(127);
  }
  return child;
}

// kill -9 (no commit, no unlock, no unregister) and reap; sets pid to -1.
inline void KillChild(pid_t& pid) {
  if (pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
}

// A child consumer process (SpawnChildTest) is told what to do through one environment variable,
// "<namesrv>;<topic>;<group>;<instance>;<file>": the options of its consumer (from the first
// offset, 4 consume threads), its topic, and the file it appends each consumed body to.
struct ChildConsumer {
  PushConsumerOptions options;
  std::string topic;
  int fd = -1;  // <file>, opened for appending
  // Appends body as one line (one write, so lines of concurrent threads do not mix).
  void Record(const std::string& body) const {
    const std::string line = body + "\n";
    EXPECT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  }
};
// nullopt when `var` is not set (the test was not started as a child).
inline std::optional<ChildConsumer> ChildConsumerFromEnv(const char* var) {
  const char* env = std::getenv(var);
  if (env == nullptr) return std::nullopt;
  std::vector<std::string> f = absl::StrSplit(env, ';');
  EXPECT_EQ(f.size(), 5u) << var << "=" << env;
  if (f.size() != 5) return std::nullopt;
  ChildConsumer c;
  c.options.namesrv_addr = f[0];
  c.topic = f[1];
  c.options.group = f[2];
  c.options.instance_name = f[3];
  c.options.consume_from_where = rsclient::ConsumeFromWhere::kFirstOffset;
  c.options.consume_thread_min = c.options.consume_thread_max = 4;
  c.fd = ::open(f[4].c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  EXPECT_GE(c.fd, 0) << f[4];
  return c;
}

// The lines of a file (what a child consumer wrote), in order.
inline std::vector<std::string> FileLines(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

}  // namespace consumer_test

#endif  // TESTS_CLIENT_CONSUMER_HARNESS_H_
