// Kills a real writer process with SIGKILL at random moments, over and over, on one store
// directory, and after each kill reopens the store and checks the recovery rules:
//  1. every put acknowledged under SYNC flush is present, at its queue offset and physical
//     offset, with the exact body;
//  2. no partial record is visible: the CommitLog from min to max is a sequence of valid records
//     (CRC checked) and blank fillers;
//  3. every ConsumeQueue unit in [min, max) points at a valid record of that topic and queue whose
//     QUEUEOFFSET is the unit's position (queue offsets dense), and keys are found by the index.
// Bounded: RS_CRASH_ITERATIONS (default 25) kills and RS_CRASH_SECONDS (default 60) seconds.
// tests/crash/soak.sh runs it much longer.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "commitlog/record.h"
#include "libstore/message_store.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"
#include "tests/crash/crash_common.h"

namespace {

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v ? std::atoi(v) : def;
}

struct Ack {
  uint32_t gen, thread, seq;
  std::string topic;
  int queue;
  int64_t queue_offset, physical_offset;
};

std::vector<Ack> ReadAcks(const std::string& path) {
  std::vector<Ack> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    Ack a;
    if (ss >> a.gen >> a.thread >> a.seq >> a.topic >> a.queue >> a.queue_offset >>
        a.physical_offset) {
      out.push_back(a);
    }
  }
  return out;
}

pid_t Spawn(const std::string& dir, const std::string& acks, int gen, int threads) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string g = std::to_string(gen), t = std::to_string(threads);
    // Quiet child: its stderr recovery notes would flood the test log.
    freopen("/dev/null", "w", stdout);
    execl(CRASH_WRITER_PATH, "crash_writer", dir.c_str(), acks.c_str(), g.c_str(), t.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Checks rules 1-3 on an open store; returns the number of acknowledged messages verified.
void CheckStore(libstore::MessageStore& s, const std::vector<Ack>& acks, int iteration) {
  SCOPED_TRACE("after kill #" + std::to_string(iteration));
  ASSERT_OK(s.WaitForDispatch(30000));
  const auto stats = s.GetStats();
  // Rule 2: the whole CommitLog is valid records and blanks.
  int64_t off = stats.commitlog_min_offset.value();
  int64_t records = 0;
  while (off < stats.commitlog_max_offset.value()) {
    ASSERT_OK_AND_ASSIGN(auto slice, s.ReadCommitLog(libstore::PhysicalOffset(off), 1 << 20));
    ASSERT_FALSE(slice.bytes.empty()) << "no bytes at " << off;
    size_t pos = 0;
    while (pos < slice.bytes.size()) {
      auto rec = libstore::internal::DecodeRecord(slice.bytes.substr(pos), /*check_crc=*/true);
      ASSERT_TRUE(rec.ok()) << "invalid record at " << off + static_cast<int64_t>(pos) << ": "
                            << rec.status();
      ASSERT_NE(rec->kind, libstore::internal::DecodedRecord::Kind::kEnd);
      if (rec->kind == libstore::internal::DecodedRecord::Kind::kMessage) {
        ASSERT_EQ(rec->message.physical_offset.value(), off + static_cast<int64_t>(pos));
        ++records;
      }
      pos += static_cast<size_t>(rec->size);
    }
    off += static_cast<int64_t>(slice.bytes.size());
  }
  ASSERT_GT(records, 0);
  // Rule 3: every unit of every queue points at the right record.
  for (const auto& [topic, qid] : s.ListQueues()) {
    const int64_t min = s.GetMinOffset(topic, qid).value();
    const int64_t max = s.GetMaxOffset(topic, qid).value();
    ASSERT_EQ(min, 0);
    for (int64_t q = min; q < max;) {
      libstore::GetRequest req;
      req.topic = topic;
      req.queue_id = qid;
      req.offset = libstore::QueueOffset(q);
      req.max_count = 256;
      req.max_bytes = 64 << 20;
      auto r = s.GetMessages(req);
      ASSERT_EQ(r.status, libstore::GetStatus::kFound) << topic << "-" << qid << "@" << q;
      for (const auto& m : r.messages) {
        ASSERT_EQ(m.message.queue_offset.value(), q) << topic << "-" << qid;
        ASSERT_EQ(m.message.topic, topic);
        ASSERT_EQ(m.message.queue_id, qid);
        ++q;
      }
    }
  }
  // Rule 1: every acknowledged put is there, exactly.
  std::mt19937 rng(iteration);
  for (size_t i = 0; i < acks.size(); ++i) {
    const Ack& a = acks[i];
    ASSERT_OK_AND_ASSIGN(auto m, s.GetMessageByOffset(libstore::PhysicalOffset(a.physical_offset)));
    ASSERT_EQ(m.message.body, crashtest::Body(a.gen, a.thread, a.seq))
        << "acked gen " << a.gen << " thread " << a.thread << " seq " << a.seq;
    ASSERT_EQ(m.message.topic, a.topic);
    ASSERT_EQ(m.message.queue_id, a.queue);
    ASSERT_EQ(m.message.queue_offset.value(), a.queue_offset);
    ASSERT_LT(a.queue_offset, s.GetMaxOffset(a.topic, a.queue).value());
    // Spot-check the index on a sample (every check is a lookup; keep it bounded).
    if (rng() % 64 == 0) {
      ASSERT_OK_AND_ASSIGN(auto found, s.QueryByKey(a.topic, crashtest::Key(a.gen, a.thread, a.seq),
                                                    4, 0, INT64_MAX));
      ASSERT_EQ(found.size(), 1u) << crashtest::Key(a.gen, a.thread, a.seq);
      ASSERT_EQ(found[0].message.physical_offset.value(), a.physical_offset);
    }
  }
}

TEST(CrashTest, KillNineAtRandomPointsLosesNothingAcknowledged) {
  const int iterations = EnvInt("RS_CRASH_ITERATIONS", 25);
  const int seconds = EnvInt("RS_CRASH_SECONDS", 60);
  const int seed = EnvInt("RS_CRASH_SEED", 12345);
  libstore::testing::TempDir tmp("crashtest");
  const std::string dir = tmp.path() + "/store";
  const std::string acks_path = tmp.path() + "/acks";
  std::mt19937 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int kills = 0, abnormal = 0;
  size_t last_acks = 0;
  for (int it = 0; it < iterations && std::chrono::steady_clock::now() < deadline; ++it) {
    const int threads = 1 + static_cast<int>(rng() % 4);
    const pid_t pid = Spawn(dir, acks_path, it, threads);
    ASSERT_GT(pid, 0);
    // Anywhere from during recovery to well into the burst.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself with status "
                                     << WEXITSTATUS(status) << " (see its stderr above)";
    ++kills;
    const auto acks = ReadAcks(acks_path);
    ASSERT_GE(acks.size(), last_acks);
    last_acks = acks.size();
    auto store = libstore::MessageStore::Open(crashtest::Options(dir));
    ASSERT_OK(store.status());
    if ((*store)->GetStats().last_open_was_abnormal) ++abnormal;
    CheckStore(**store, acks, it);
    if (HasFatalFailure()) return;
    ASSERT_OK((*store)->Close());
    // Every other round the writer also starts with an abnormal recovery (full redispatch from
    // the checkpoint), so kills land inside that path too.
    if (it % 2 == 1) {
      std::ofstream(dir + "/abort").flush();
    }
  }
  std::printf("crash test: %d kills, %d abnormal recoveries, %zu acknowledged messages verified\n",
              kills, abnormal, last_acks);
  EXPECT_GE(kills, 3);
  // A kill before the writer created its abort marker leaves a clean store; most kills do not.
  EXPECT_GT(abnormal, kills / 2);
  EXPECT_GT(last_acks, 0u);
}

}  // namespace
