// Embedded demo: opens a store (no networking), writes messages with tags and keys, reads a
// queue back with a tag filter, looks a message up by key and by offsetMsgId, and prints stats.
// Usage: embedded_demo [STORE_DIR] [MESSAGES]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "libstore/message_store.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/rocketstore-demo";
  const int n = argc > 2 ? std::atoi(argv[2]) : 1000;
  libstore::StoreOptions opts;
  opts.root_dir = dir;
  opts.commitlog_file_size = 64 << 20;
  opts.flush_mode = libstore::FlushMode::kSync;  // every put below is durable when it returns
  auto store = libstore::MessageStore::Open(opts);
  if (!store.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(), store.status().ToString().c_str());
    return 1;
  }
  auto& s = **store;
  const auto before = s.GetMaxOffset("DemoTopic", 0);
  std::string first_id;
  for (int i = 0; i < n; ++i) {
    libstore::MessageToStore m;
    m.topic = "DemoTopic";
    m.queue_id = i % 4;
    m.body = "hello #" + std::to_string(i);
    m.born_timestamp_ms = 0;
    m.born_host = *libstore::HostAddress::Parse("127.0.0.1:12345");
    libstore::Properties p;
    p.Set("TAGS", i % 2 == 0 ? "even" : "odd");
    p.Set("KEYS", "order-" + std::to_string(i));
    m.properties = p.Encode();
    auto r = s.Put(m);
    if (!r.ok()) {
      std::fprintf(stderr, "put: %s\n", r.status().ToString().c_str());
      return 1;
    }
    if (i == 0) first_id = std::string(r->offset_msg_id());
  }
  std::printf("wrote %d messages (sync flush); queue DemoTopic-0 grew from %lld to %lld\n", n,
              static_cast<long long>(before.value()),
              static_cast<long long>(s.GetMaxOffset("DemoTopic", 0).value()));
  if (auto st = s.WaitForDispatch(10000); !st.ok()) {
    std::fprintf(stderr, "dispatch: %s\n", st.ToString().c_str());
    return 1;
  }
  libstore::GetRequest req;
  req.topic = "DemoTopic";
  req.queue_id = 0;
  req.offset = before;
  req.max_count = 5;
  req.tags = {"even"};
  const auto got = s.GetMessages(req);
  std::printf("read queue 0 from %lld with tag 'even': %s, %zu messages, next offset %lld\n",
              static_cast<long long>(before.value()), libstore::GetStatusName(got.status),
              got.messages.size(), static_cast<long long>(got.next_begin_offset.value()));
  for (const auto& m : got.messages) {
    std::printf("  offset %lld: %.*s\n", static_cast<long long>(m.message.queue_offset.value()),
                static_cast<int>(m.message.body.size()), m.message.body.data());
  }
  auto by_key = s.QueryByKey("DemoTopic", "order-7", 32, 0, INT64_MAX);
  if (!by_key.ok()) {
    std::fprintf(stderr, "query: %s\n", by_key.status().ToString().c_str());
    return 1;
  }
  std::printf("key order-7: %zu message(s)\n", by_key->size());
  auto by_id = s.GetMessageById(first_id);
  if (!by_id.ok()) {
    std::fprintf(stderr, "by id: %s\n", by_id.status().ToString().c_str());
    return 1;
  }
  std::printf("message %s: '%.*s'\n", first_id.c_str(),
              static_cast<int>(by_id->message.body.size()), by_id->message.body.data());
  const auto st = s.GetStats();
  std::printf("CommitLog [%lld, %lld), flushed %lld, dispatch behind %lld bytes, %lld syncs\n",
              static_cast<long long>(st.commitlog_min_offset.value()),
              static_cast<long long>(st.commitlog_max_offset.value()),
              static_cast<long long>(st.commitlog_flushed_offset.value()),
              static_cast<long long>(st.dispatch_behind_bytes), static_cast<long long>(st.syncs));
  if (auto c = s.Close(); !c.ok()) {
    std::fprintf(stderr, "close: %s\n", c.ToString().c_str());
    return 1;
  }
  std::printf("closed cleanly; run again to append to the same store in %s\n", dir.c_str());
  return 0;
}
