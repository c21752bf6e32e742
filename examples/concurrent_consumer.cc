// example_concurrent: sync and async sends and a concurrent push consumer with the C++ client
// (rsclient).
//
// A producer sends N messages with a tag (TagA or TagB), a key and a user property ("mode"):
// the first half with Send, which returns once the broker stored the message, the second half
// with SendAsync, whose callback runs on the producer's callback thread. A push consumer with a
// concurrent listener receives them on a pool of consume threads (consume_thread_min..max),
// messages of one queue in parallel, in no particular order. The example exits 0 once every
// message (counted by distinct key) arrived.
//
// Run it against any name server with a broker registered, e.g. the ones scripts/run.sh serves:
//   scripts/run.sh &
//   cmake --build --preset release --target example_concurrent
//   build/release/examples/example_concurrent --namesrv 127.0.0.1:9876 --messages 64
// The broker creates the topic on the first send (autoCreateTopicEnable=true, the default);
// otherwise create it first: rs_admin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t TOPIC.
// Each run tags its keys with the start time, so earlier runs' messages are ignored.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/producer.h"
#include "client/push_consumer.h"
#include "example_flags.h"

namespace {

constexpr const char* kUsage =
    "usage: example_concurrent [--namesrv HOST:PORT] [--topic NAME] [--messages N] "
    "[--timeout-s S]\n"
    "  --namesrv    name server address (default 127.0.0.1:9876)\n"
    "  --topic      topic (default ExampleConcurrentTopic)\n"
    "  --messages   messages to send, half sync and half async (default 64)\n"
    "  --timeout-s  give up when they have not all arrived by then (default 30)\n";

struct Flags {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "ExampleConcurrentTopic";
  int messages = 64;
  int timeout_s = 30;
};

// Parses argv into flags; returns -1 to go on, else the exit code (0 for --help, 2 for misuse).
int ParseFlags(int argc, char** argv, Flags* flags) {
  return ParseExampleFlags(argc, argv, "example_concurrent", kUsage,
                           {{"--namesrv", &flags->namesrv}, {"--topic", &flags->topic}},
                           {{"--messages", &flags->messages}, {"--timeout-s", &flags->timeout_s}});
}

// Shared by main, the async send callbacks and the listener.
struct Progress {
  std::mutex mu;
  std::condition_variable cv;
  int async_done = 0;
  std::string async_error;  // the first failed async send
  std::set<std::string> received_keys;
  std::set<std::thread::id> consume_threads;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (int code = ParseFlags(argc, argv, &flags); code >= 0) return code;
  const std::string run = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_s);
  Progress progress;

  // 1. Produce: half sync, half async.
  rsclient::ProducerOptions producer_options;
  producer_options.group = "example_concurrent_pg";
  producer_options.namesrv_addr = flags.namesrv;
  rsclient::Producer producer(producer_options);
  if (absl::Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_concurrent: producer start: %s\n", s.ToString().c_str());
    return 1;
  }
  const int sync_count = flags.messages / 2;
  const int async_count = flags.messages - sync_count;
  for (int i = 0; i < flags.messages; ++i) {
    const bool sync = i < sync_count;
    rsclient::Message msg;
    msg.topic = flags.topic;
    msg.tags = i % 2 == 0 ? "TagA" : "TagB";
    msg.keys = {run + "-" + std::to_string(i)};
    msg.properties["mode"] = sync ? "sync" : "async";
    msg.body = "message " + std::to_string(i) + " of run " + run;
    if (sync) {
      absl::StatusOr<rsclient::SendResult> sent = producer.Send(msg);
      if (!sent.ok()) {
        std::fprintf(stderr, "example_concurrent: send %d: %s\n", i,
                     sent.status().ToString().c_str());
        return 1;
      }
      continue;
    }
    producer.SendAsync(msg, [&progress, i](absl::StatusOr<rsclient::SendResult> sent) {
      std::lock_guard<std::mutex> lock(progress.mu);
      ++progress.async_done;
      if (!sent.ok() && progress.async_error.empty()) {
        progress.async_error = "async send " + std::to_string(i) + ": " + sent.status().ToString();
      }
      progress.cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(progress.mu);
    progress.cv.wait_until(lock, deadline, [&] { return progress.async_done == async_count; });
  }
  producer.Shutdown();  // fails what is still in flight (Cancelled): every callback has run now
  if (!progress.async_error.empty()) {
    std::fprintf(stderr, "example_concurrent: %s\n", progress.async_error.c_str());
    return 1;
  }
  std::printf("sent %d messages (%d sync, %d async) to %s\n", flags.messages, sync_count,
              async_count, flags.topic.c_str());

  // 2. Consume concurrently on a pool of 4 to 8 threads.
  rsclient::PushConsumerOptions consumer_options;
  consumer_options.group = "example_concurrent_cg";
  consumer_options.namesrv_addr = flags.namesrv;
  consumer_options.consume_from_where = rsclient::ConsumeFromWhere::kFirstOffset;
  consumer_options.consume_thread_min = 4;
  consumer_options.consume_thread_max = 8;
  rsclient::PushConsumer consumer(consumer_options);
  if (absl::Status s = consumer.Subscribe(flags.topic, "TagA || TagB"); !s.ok()) {
    std::fprintf(stderr, "example_concurrent: subscribe: %s\n", s.ToString().c_str());
    return 1;
  }
  consumer.RegisterMessageListener(
      [&progress, &run](const std::vector<rsclient::ConsumedMessage>& msgs,
                        rsclient::ConsumeConcurrentlyContext& ctx) {
        std::lock_guard<std::mutex> lock(progress.mu);
        for (const rsclient::ConsumedMessage& m : msgs) {
          if (m.keys.rfind(run + "-", 0) != 0) continue;  // another run's message
          progress.received_keys.insert(m.keys);
          progress.consume_threads.insert(std::this_thread::get_id());
          std::printf("received key %s tag %s mode %s queue %d offset %lld\n", m.keys.c_str(),
                      m.tags.c_str(), m.Property("mode").c_str(), ctx.queue.queue_id,
                      static_cast<long long>(m.queue_offset));
        }
        progress.cv.notify_all();
        // kReconsumeLater would have the message delivered again later (through %RETRY%<group>).
        return rsclient::ConsumeConcurrentlyStatus::kConsumeSuccess;
      });
  if (absl::Status s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_concurrent: consumer start: %s\n", s.ToString().c_str());
    return 1;
  }
  {
    std::unique_lock<std::mutex> lock(progress.mu);
    progress.cv.wait_until(lock, deadline, [&] {
      return progress.received_keys.size() == static_cast<size_t>(flags.messages);
    });
  }
  consumer.Shutdown();  // commits the offsets: a next run starts after these messages

  std::lock_guard<std::mutex> lock(progress.mu);
  if (progress.received_keys.size() != static_cast<size_t>(flags.messages)) {
    std::fprintf(stderr, "example_concurrent: only %zu of %d messages arrived within %d s\n",
                 progress.received_keys.size(), flags.messages, flags.timeout_s);
    return 1;
  }
  std::printf("received all %d messages on %zu consume thread(s)\n", flags.messages,
              progress.consume_threads.size());
  return 0;
}
