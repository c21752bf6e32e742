// example_batch: batch sends and a pull consumer with the C++ client (rsclient).
//
// A producer sends N messages with SendBatch, --batch-size at a time: each batch is one request
// (SEND_BATCH_MESSAGE), stored in one queue at consecutive offsets. Then a pull consumer, which
// leaves the choice of queue and offset to its caller, reads every queue of the topic from
// offset 0 up to the queue's max offset and checks that every message of this run came back.
// The example exits 0 once every message was read.
//
// Run it against any name server with a broker registered, e.g. the ones scripts/run.sh serves:
//   scripts/run.sh &
//   cmake --build --preset release --target example_batch
//   build/release/examples/example_batch --namesrv 127.0.0.1:9876 --messages 256
// The broker creates the topic on the first send (autoCreateTopicEnable=true, the default);
// otherwise create it first: rs_admin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t TOPIC.
// Each run tags its keys with the start time, so earlier runs' messages are ignored.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/producer.h"
#include "client/pull_consumer.h"
#include "example_flags.h"

namespace {

constexpr const char* kUsage =
    "usage: example_batch [--namesrv HOST:PORT] [--topic NAME] [--messages N] [--batch-size B]\n"
    "                     [--timeout-s S]\n"
    "  --namesrv     name server address (default 127.0.0.1:9876)\n"
    "  --topic       topic (default ExampleBatchTopic)\n"
    "  --messages    messages to send (default 256)\n"
    "  --batch-size  messages per SendBatch, 1..1024 (default 32)\n"
    "  --timeout-s   give up when they have not all been read by then (default 30)\n";

struct Flags {
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "ExampleBatchTopic";
  int messages = 256;
  int batch_size = 32;
  int timeout_s = 30;
};

// Parses argv into flags; returns -1 to go on, else the exit code (0 for --help, 2 for misuse).
int ParseFlags(int argc, char** argv, Flags* flags) {
  const int code = ParseExampleFlags(argc, argv, "example_batch", kUsage,
                                     {{"--namesrv", &flags->namesrv}, {"--topic", &flags->topic}},
                                     {{"--messages", &flags->messages},
                                      {"--batch-size", &flags->batch_size},
                                      {"--timeout-s", &flags->timeout_s}});
  if (code >= 0) return code;
  if (flags->batch_size > 1024) {
    std::fprintf(stderr, "example_batch: --batch-size must be 1..1024\n");
    return 2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (int code = ParseFlags(argc, argv, &flags); code >= 0) return code;
  const std::string run = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(flags.timeout_s);

  // 1. Produce in batches. A batch must fit in max_message_size (4 MiB) once encoded and may
  // not use delay levels.
  rsclient::ProducerOptions producer_options;
  producer_options.group = "example_batch_pg";
  producer_options.namesrv_addr = flags.namesrv;
  rsclient::Producer producer(producer_options);
  if (absl::Status s = producer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_batch: producer start: %s\n", s.ToString().c_str());
    return 1;
  }
  std::set<std::string> pending;  // keys sent and not read back yet
  for (int first = 0; first < flags.messages; first += flags.batch_size) {
    std::vector<rsclient::Message> batch;
    for (int i = first; i < std::min(first + flags.batch_size, flags.messages); ++i) {
      rsclient::Message msg;
      msg.topic = flags.topic;
      msg.tags = "batch";
      msg.keys = {run + "-" + std::to_string(i)};
      msg.body = "message " + std::to_string(i) + " of run " + run;
      batch.push_back(msg);
      pending.insert(msg.keys.front());
    }
    absl::StatusOr<rsclient::SendResult> sent = producer.SendBatch(batch);
    if (!sent.ok()) {
      std::fprintf(stderr, "example_batch: batch from message %d: %s\n", first,
                   sent.status().ToString().c_str());
      return 1;
    }
    std::printf("batch of %zu -> queue %d offsets %lld..%lld\n", batch.size(), sent->queue.queue_id,
                static_cast<long long>(sent->queue_offset),
                static_cast<long long>(sent->queue_offset + std::ssize(batch) - 1));
  }
  producer.Shutdown();
  std::printf("sent %d messages in batches of %d to %s\n", flags.messages, flags.batch_size,
              flags.topic.c_str());

  // 2. Read every queue from offset 0 with a pull consumer.
  rsclient::PullConsumerOptions consumer_options;
  consumer_options.group = "example_batch_cg";
  consumer_options.namesrv_addr = flags.namesrv;
  rsclient::PullConsumer consumer(consumer_options);
  if (absl::Status s = consumer.Start(); !s.ok()) {
    std::fprintf(stderr, "example_batch: consumer start: %s\n", s.ToString().c_str());
    return 1;
  }
  // A topic the broker has just created reaches the name server within a second or so.
  absl::StatusOr<std::vector<rsclient::MessageQueue>> queues = consumer.FetchQueues(flags.topic);
  while (!queues.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    queues = consumer.FetchQueues(flags.topic);
  }
  if (!queues.ok()) {
    std::fprintf(stderr, "example_batch: queues of %s: %s\n", flags.topic.c_str(),
                 queues.status().ToString().c_str());
    return 1;
  }
  for (const rsclient::MessageQueue& mq : *queues) {
    absl::StatusOr<int64_t> max_offset = consumer.MaxOffset(mq);
    if (!max_offset.ok()) {
      std::fprintf(stderr, "example_batch: max offset of %s: %s\n", mq.ToString().c_str(),
                   max_offset.status().ToString().c_str());
      return 1;
    }
    int64_t offset = 0;
    size_t read = 0;
    while (offset < *max_offset && std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<rsclient::PullResult> pulled = consumer.Pull(mq, "*", offset, 32);
      if (!pulled.ok()) {
        std::fprintf(stderr, "example_batch: pull %s at %lld: %s\n", mq.ToString().c_str(),
                     static_cast<long long>(offset), pulled.status().ToString().c_str());
        return 1;
      }
      for (const rsclient::ConsumedMessage& m : pulled->messages) {
        read += pending.erase(m.keys);  // 0 for an earlier run's message
      }
      // next_begin_offset is where to go on, also after kOffsetIllegal (offset 0 was deleted
      // by retention) and kNoMatchedMsg (only messages of other tags there).
      if (pulled->next_begin_offset > offset) {
        offset = pulled->next_begin_offset;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // not there yet
      }
    }
    std::printf("queue %d: read %zu messages of this run (max offset %lld)\n", mq.queue_id, read,
                static_cast<long long>(*max_offset));
  }
  consumer.Shutdown();

  if (!pending.empty()) {
    std::fprintf(stderr, "example_batch: %zu of %d messages not read back within %d s\n",
                 pending.size(), flags.messages, flags.timeout_s);
    return 1;
  }
  std::printf("read back all %d messages\n", flags.messages);
  return 0;
}
