// example_ordered: ordered messages with the C++ client (rsclient).
//
// A producer sends the three steps of each order (create, pay, ship), orders interleaved, with a
// queue selector: SelectByHash on the order id puts every step of one order on the same queue,
// where they are stored in the order they were sent. A push consumer with an orderly listener
// then receives them: the consumer locks each queue on the broker and consumes it on one thread
// at a time, in queue order, so each order's steps arrive as create, pay, ship. The example
// prints a line per completed order and exits 0 when every order completed in sequence.
//
// Run it against any name server with a broker registered, e.g. the ones scripts/run.sh serves:
//   scripts/run.sh &
//   cmake --build --preset release --target example_ordered
//   build/release/examples/example_ordered --namesrv 127.0.0.1:9876 --orders 10
// The broker creates the topic on the first send (autoCreateTopicEnable=true, the default);
// otherwise create it first: rs_admin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t TOPIC.
// Each run tags its order ids with the start time, so earlier runs' messages are ignored.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client/producer.h"
#include "client/push_consumer.h"
#include "example_flags.h"

namespace {

constexpr const char* kUsage =
    "usage: example_ordered [--namesrv HOST:PORT] [--topic NAME] [--orders N] [--timeout-s S]\n"
    "  --namesrv    name server address (default 127.0.0.1:9876)\n"
    "  --topic      topic (default ExampleOrderTopic)\n"
    "  --orders     orders to send, each as create, pay, ship (default 10)\n"
    "  --timeout-s  give up when the orders have not all completed by then (default 30)\n";

constexpr const char* kSteps[] = {"create", "pay", "ship"};
constexpr int kStepCount = 3;

struct Flags {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "ExampleOrderTopic";
  int orders = 10;
  int timeout_s = 30;
};

// Parses argv into flags; returns -1 to go on, else the exit code (0 for --help, 2 for misuse).
int ParseFlags(int argc, char** argv, Flags* flags) {
  return ParseExampleFlags(argc, argv, "example_ordered", kUsage,
                           {{"--namesrv", &flags->namesrv}, {"--topic", &flags->topic}},
                           {{"--orders", &flags->orders}, {"--timeout-s", &flags->timeout_s}});
}

// What the listener saw, shared with main.
struct Progress {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> next_step;  // order id -> index of the step expected next
  int completed = 0;
  std::string error;  // the first step seen out of sequence
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (int code = ParseFlags(argc, argv, &flags); code >= 0) return code;
  const std::string run = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  Progress progress;
  for (int i = 0; i < flags.orders; ++i) progress.next_step[run + "-" + std::to_string(i)] = 0;

  // 1. Produce: step by step, every order in turn, so orders interleave on the queues.
  rsclient::ProducerOptions producer_options;
  producer_options.group = "example_ordered_pg";
  producer_options.namesrv_addr = flags.namesrv;
  rsclient::Producer producer(producer_options);
  if (absl::Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_ordered: producer start: %s\n", s.ToString().c_str());
    return 1;
  }
  for (int step = 0; step < kStepCount; ++step) {
    for (int i = 0; i < flags.orders; ++i) {
      const std::string order_id = run + "-" + std::to_string(i);
      rsclient::Message msg;
      msg.topic = flags.topic;
      msg.tags = kSteps[step];
      msg.keys = {order_id};
      msg.body = "order " + order_id + " " + kSteps[step];
      // The selector's argument is the order id: same id, same queue.
      absl::StatusOr<rsclient::SendResult> sent =
          producer.Send(msg, rsclient::SelectByHash, order_id);
      if (!sent.ok()) {
        std::fprintf(stderr, "example_ordered: send %s: %s\n", msg.body.c_str(),
                     sent.status().ToString().c_str());
        return 1;
      }
    }
  }
  producer.Shutdown();
  std::printf("sent %d orders x %d steps to %s\n", flags.orders, kStepCount, flags.topic.c_str());

  // 2. Consume orderly: each queue on one thread at a time, in queue order.
  rsclient::PushConsumerOptions consumer_options;
  consumer_options.group = "example_ordered_cg";
  consumer_options.namesrv_addr = flags.namesrv;
  consumer_options.consume_from_where = rsclient::ConsumeFromWhere::kFirstOffset;
  rsclient::PushConsumer consumer(consumer_options);
  if (absl::Status s = consumer.Subscribe(flags.topic, "*"); !s.ok()) {
    std::fprintf(stderr, "example_ordered: subscribe: %s\n", s.ToString().c_str());
    return 1;
  }
  consumer.RegisterMessageListener([&progress](const std::vector<rsclient::ConsumedMessage>& msgs,
                                               rsclient::ConsumeOrderlyContext& ctx) {
    std::lock_guard<std::mutex> lock(progress.mu);
    for (const rsclient::ConsumedMessage& m : msgs) {
      auto order = progress.next_step.find(m.keys);
      if (order == progress.next_step.end()) continue;  // another run's order
      int step = 0;
      while (step < kStepCount && m.tags != kSteps[step]) ++step;
      int& next = order->second;
      if (step == next && step < kStepCount) {
        if (++next == kStepCount) {
          ++progress.completed;
          std::printf("order %s: create, pay, ship (queue %d)\n", m.keys.c_str(),
                      ctx.queue.queue_id);
        }
      } else if (step < next) {
        // At-least-once delivery: steps may come again (in order) after a rebalance.
      } else if (progress.error.empty()) {
        progress.error = "order " + m.keys + ": got " + m.tags + " after " +
                         (next == 0 ? std::string("nothing") : kSteps[next - 1]);
      }
    }
    progress.cv.notify_all();
    return rsclient::ConsumeOrderlyStatus::kSuccess;
  });
  if (absl::Status s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_ordered: consumer start: %s\n", s.ToString().c_str());
    return 1;
  }
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(progress.mu);
    done = progress.cv.wait_for(lock, std::chrono::seconds(flags.timeout_s), [&] {
      return progress.completed == flags.orders || !progress.error.empty();
    });
  }
  consumer.Shutdown();  // commits the offsets: a next run starts after these messages

  std::lock_guard<std::mutex> lock(progress.mu);
  if (!progress.error.empty()) {
    std::fprintf(stderr, "example_ordered: out of sequence: %s\n", progress.error.c_str());
    return 1;
  }
  if (!done) {
    std::fprintf(stderr, "example_ordered: only %d of %d orders completed within %d s\n",
                 progress.completed, flags.orders, flags.timeout_s);
    return 1;
  }
  std::printf("all %d orders completed in sequence (create, pay, ship)\n", flags.orders);
  return 0;
}
