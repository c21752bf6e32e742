// Generates the seed corpora of the fuzz targets: corpus/<target>/seed-* files, made with
// libstore's own encoder and store (never with bytes from RocketMQ-written fixtures), plus
// corrupt variants of them. Deterministic (fixed clock, fixed content), so regenerating
// reproduces the checked-in files. Files not named seed-* (crash reproducers) are left alone.
//
// Usage: make_seeds CORPUS_DIR   (normally fuzz/corpus)
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "commitlog/record.h"
#include "consumequeue/consume_queue.h"
#include "fuzz_util.h"
#include "index/index_file.h"
#include "libstore/env.h"
#include "libstore/message_store.h"
#include "recovery_input.h"
#include "testing/test_util.h"
#include "util/coding.h"
#include "util/hash.h"

namespace {

namespace li = libstore::internal;
namespace lf = libstore::fuzz;
using libstore::HostAddress;
using libstore::MessageToStore;
using libstore::testing::MakeMessage;

constexpr int64_t kTs = 1700000000000;

// Env::Default() with a clock the generator sets, so store timestamps are reproducible.
class ClockEnv final : public libstore::Env {
 public:
  explicit ClockEnv(Env* base) : base_(base) {}
  void Set(int64_t ms) { now_ = ms; }
  absl::StatusOr<std::unique_ptr<libstore::File>> OpenFile(const std::string& p, bool c) override {
    return base_->OpenFile(p, c);
  }
  absl::Status SyncFiles(std::span<libstore::File* const> files) override {
    return base_->SyncFiles(files);
  }
  absl::Status CreateDirs(const std::string& p) override { return base_->CreateDirs(p); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& p) override {
    return base_->ListDir(p);
  }
  bool FileExists(const std::string& p) override { return base_->FileExists(p); }
  absl::Status DeleteFile(const std::string& p) override { return base_->DeleteFile(p); }
  absl::Status DeleteDir(const std::string& p) override { return base_->DeleteDir(p); }
  absl::Status RenameFile(const std::string& a, const std::string& b) override {
    return base_->RenameFile(a, b);
  }
  absl::Status SyncDir(const std::string& p) override { return base_->SyncDir(p); }
  absl::StatusOr<int64_t> FileModifiedMs(const std::string& p) override {
    return base_->FileModifiedMs(p);
  }
  absl::StatusOr<std::unique_ptr<libstore::FileLock>> LockFile(const std::string& p) override {
    return base_->LockFile(p);
  }
  absl::StatusOr<libstore::DiskSpace> GetDiskSpace(const std::string& p) override {
    return base_->GetDiskSpace(p);
  }
  int64_t NowMs() override { return now_; }
  int64_t MonotonicMicros() override { return base_->MonotonicMicros(); }

 private:
  Env* const base_;
  std::atomic<int64_t> now_{kTs};
};

void Die(const std::string& what) {
  std::fprintf(stderr, "make_seeds: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(std::string(what) + ": " + v.status().ToString());
  return std::move(*v);
}
void Must(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

class Corpus {
 public:
  Corpus(const std::string& root, const std::string& target) : dir_(root + "/" + target) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      if (e.path().filename().string().rfind("seed-", 0) == 0) std::filesystem::remove(e.path());
    }
  }
  ~Corpus() { std::printf("%s: %d seeds, %zu bytes\n", dir_.c_str(), n_, bytes_); }
  void Add(const std::string& name, std::string_view data) {
    char prefix[32];
    std::snprintf(prefix, sizeof(prefix), "seed-%02d-", ++n_);
    lf::WriteFileImage(dir_ + "/" + prefix + name, data);
    bytes_ += data.size();
  }

 private:
  std::string dir_;
  int n_ = 0;
  size_t bytes_ = 0;
};

HostAddress Host(std::string_view text) { return Must(HostAddress::Parse(text), "host"); }

// A complete V1 record as the store would write it.
std::string Record(const MessageToStore& m, int64_t queue_offset, int64_t phys, int64_t ts,
                   const HostAddress& store_host = Host("127.0.0.1:10911")) {
  const int64_t len = li::RecordLength(
      static_cast<int64_t>(m.body.size()), static_cast<int64_t>(m.topic.size()),
      static_cast<int64_t>(m.properties.size()), m.born_host.is_v6(), store_host.is_v6());
  std::string out(static_cast<size_t>(len), '\0');
  li::EncodeRecord(m, store_host, out.data());
  li::PatchRecord(out.data(), queue_offset, phys, ts);
  return out;
}

std::string Body(int i, size_t n) {
  std::string b;
  while (b.size() < n) b += "body-" + std::to_string(i) + "-" + std::to_string(b.size()) + ";";
  b.resize(n);
  return b;
}

// V1 -> V2 layout (2-byte topic length).
std::string ToV2(const std::string& v1) {
  const auto d = Must(li::DecodeRecord(v1, true), "decode");
  const libstore::StoredMessage& m = d.message;
  const size_t topic_pos = static_cast<size_t>(m.topic.data() - v1.data()) - 1;
  std::string out = v1.substr(0, topic_pos);
  li::AppendBE16(&out, static_cast<uint16_t>(m.topic.size()));
  out.append(m.topic);
  li::AppendBE16(&out, static_cast<uint16_t>(m.properties.size()));
  out.append(m.properties);
  li::PutBE32(out.data(), static_cast<uint32_t>(out.size()));
  li::PutBE32(out.data() + 4, static_cast<uint32_t>(li::kMagicV2));
  return out;
}

std::string Blank(int32_t remaining) {
  std::string out(8, '\0');
  li::EncodeBlank(out.data(), remaining);
  return out;
}

std::string Unit(int64_t phys, int32_t size, int64_t tags) {
  std::string out(li::kCqUnitSize, '\0');
  li::EncodeCqUnit(li::CqUnit{phys, size, tags}, out.data());
  return out;
}

std::string TrimZeros(std::string s) {
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// ------------------------------------------------------------------------------------------

void RecordSeeds(const std::string& root) {
  Corpus c(root, "fuzz_record");
  const std::string plain =
      Record(MakeMessage("TopicA", 0, "hello", "TagA", "k1 k2", "UNIQ-1"), 3, 4096, kTs + 5);
  c.Add("v1-plain", plain);
  MessageToStore bare;
  bare.topic = "T";
  bare.born_host = Host("10.0.0.1:1");
  c.Add("v1-empty-body-no-props", Record(bare, 0, 0, kTs));
  c.Add("v1-body-4k", Record(MakeMessage("TopicB", 7, Body(1, 4000), "TagB"), 100, 65536, kTs));
  c.Add("v1-topic-127", Record(MakeMessage(std::string(127, 't'), 1, "x"), 0, 0, kTs));
  MessageToStore v6 = MakeMessage("TopicV6", 2, "ipv6 born", "T6");
  v6.born_host = Host("[2001:db8::1]:40000");
  c.Add("v1-born-v6", Record(v6, 9, 123456, kTs));
  c.Add("v1-store-v6",
        Record(MakeMessage("TopicA", 0, "store v6"), 1, 2048, kTs, Host("[::1]:10911")));
  c.Add("v1-both-v6", Record(v6, 10, 7777, kTs, Host("[fe80::2]:10911")));
  MessageToStore tx = MakeMessage("TopicTx", 0, "prepared", "", "", "UNIQ-TX");
  tx.sys_flag = libstore::sysflag::kTransactionPrepared;
  tx.reconsume_times = 3;
  tx.prepared_transaction_offset = 99999;
  tx.flag = 0x5A;
  c.Add("v1-tx-prepared", Record(tx, 0, 512, kTs));
  MessageToStore zipped = MakeMessage("TopicZ", 0, std::string("\x78\x9c\x01\x00\xff", 5));
  zipped.sys_flag = libstore::sysflag::kCompressed | libstore::sysflag::kMultiTags;
  c.Add("v1-compressed-flag", Record(zipped, 0, 0, kTs));
  libstore::Properties props;
  props.Set("KEYS", "a b  c");
  props.Set("TAGS", "t1||t2");
  props.Set("DELAY", "3");
  props.Set("REAL_TOPIC", "TopicA");
  props.Set("REAL_QID", "1");
  props.Set("UNIQ_KEY", "0A0B0C0D");
  MessageToStore many = MakeMessage("SCHEDULE_TOPIC_XXXX", 2, "delayed");
  many.properties = props.Encode() + "x\x02\x01\x02" + "ab\x02" + "k\x01v\x01w\x02";
  c.Add("v1-many-properties", Record(many, 4, 8192, kTs));
  c.Add("v2-plain", ToV2(plain));
  c.Add("blank-8", Blank(8));
  c.Add("blank-100", Blank(100) + std::string(92, '\0'));
  c.Add("end-zero-header", std::string(8, '\0'));
  c.Add("end-short-zero", std::string(4, '\0'));
  c.Add("record-then-next", plain + Record(MakeMessage("TopicA", 0, "next"), 4, 4096 + 200, kTs));
  // Corrupt variants.
  {
    std::string b = plain;
    const auto d = Must(li::DecodeRecord(plain, true), "decode");
    b[static_cast<size_t>(d.message.body.data() - plain.data())] ^= 0x20;
    c.Add("bad-body-crc", b);
  }
  c.Add("truncated", plain.substr(0, plain.size() - 10));
  {
    std::string b = plain;
    b[5] = 0x11;
    c.Add("bad-magic", b);
  }
  {
    std::string b = plain;
    li::PutBE32(b.data(), 20);
    c.Add("total-too-small", b);
  }
  {
    std::string b = plain;
    li::PutBE32(b.data(), static_cast<uint32_t>(plain.size() + 100));
    c.Add("total-past-end", b);
  }
  {
    std::string b = plain;
    const auto d = Must(li::DecodeRecord(plain, true), "decode");
    const size_t body_len_pos = static_cast<size_t>(d.message.body.data() - plain.data()) - 4;
    li::PutBE32(b.data() + body_len_pos, 100000);
    c.Add("body-length-too-big", b);
    std::string t = plain;
    t[static_cast<size_t>(d.message.topic.data() - plain.data()) - 1] = static_cast<char>(0x90);
    c.Add("negative-topic-length", t);
    std::string p = plain;
    const size_t props_len_pos =
        static_cast<size_t>(d.message.properties.data() - plain.data()) - 2;
    li::PutBE16(p.data() + props_len_pos, 3);
    c.Add("properties-length-mismatch", p);
  }
  {
    std::string b = plain;
    li::PutBE32(b.data() + li::kSysFlagPos, libstore::sysflag::kBornHostV6);
    c.Add("v6-flag-on-v4-layout", b);
  }
  c.Add("msgid-v4",
        libstore::EncodeOffsetMsgId(Host("127.0.0.1:10911"), libstore::PhysicalOffset(4096)));
  c.Add("msgid-v6-lower", "20010db8000000000000000000000001000027af00000000000010a0");
  c.Add("properties-text",
        "KEYS\x01"
        "a b\x02TAGS\x01t\x02UNIQ_KEY\x01u\x02\x01\x02");
}

// ------------------------------------------------------------------------------------------

void ConsumeQueueSeeds(const std::string& root) {
  Corpus c(root, "fuzz_consume_queue");
  auto units = [](int n, int64_t start_phys, int64_t first_blank = 0) {
    std::string out;
    int64_t phys = start_phys;
    for (int i = 0; i < n; ++i) {
      if (i < first_blank) {
        out += Unit(0, 0x7FFFFFFF, 0);
        continue;
      }
      const int32_t size = 150 + (i * 37) % 300;
      out += Unit(phys, size,
                  i % 3 == 0 ? 0 : libstore::JavaStringHash("Tag" + std::to_string(i % 5)));
      phys += size;
    }
    return out;
  };
  c.Add("ten-units", units(10, 0));
  c.Add("one-full-file", units(64, 0));
  c.Add("two-files", units(84, 1000));
  c.Add("four-files", units(230, 0));
  c.Add("blank-prefix", units(20, 5000, 5));
  c.Add("whole-file-blank-then-units", units(80, 64, 64));
  {
    std::string s = units(30, 0);
    const std::string bad = Unit(4000, 0, 0);  // size 0: invalid, recovery stops here
    s.replace(15 * 20, 20, bad);
    c.Add("invalid-unit-mid-file", s);
    std::string n = units(30, 0);
    n.replace(10 * 20, 20, Unit(-5, 100, 0));
    c.Add("negative-offset-unit", n);
    std::string tail = units(12, 0) + Unit(0, 0x7FFFFFFF, 0) + Unit(0, 0x7FFFFFFF, 0);
    c.Add("blank-tail", tail);
    std::string dec = Unit(10000, 100, 1) + Unit(5000, 100, 2) + Unit(20000, 100, 3);
    c.Add("decreasing-offsets", dec);
    c.Add("partial-unit", units(7, 0).substr(0, 7 * 20 - 9));
    std::string far = units(5, int64_t{1} << 40);
    c.Add("far-offsets", far);
    std::string second_bad = units(64, 0) + Unit(0, -1, 0) + units(40, 999999);
    c.Add("second-file-invalid-first-unit", second_bad);
    std::string third =
        units(128, 0) + units(10, 70000).substr(0, 5 * 20) + Unit(1, 0, 0) + units(20, 80000);
    c.Add("third-file-invalid-mid", third);
    std::string fourth = units(192, 0) + Unit(0, 0x7FFFFFFF, 0) + units(10, 100000);
    c.Add("fourth-file-blank-mid", fourth);
  }
  c.Add("empty", "");
  c.Add("all-zero-file", std::string(lf::kRecoveryCqFileSize, '\0'));
  c.Add("one-blank", Unit(0, 0x7FFFFFFF, 0));
  c.Add("size-int-max", Unit(100, 0x7FFFFFFF, 5) + Unit(200, 1, 0));
}

// ------------------------------------------------------------------------------------------

void IndexSeeds(const std::string& root) {
  Corpus c(root, "fuzz_index");
  constexpr int32_t kSlots = 16, kEntries = 64;
  libstore::Env* env = libstore::Env::Default();
  libstore::testing::TempDir tmp("make-seeds");
  int file_no = 0;
  // Builds an index file with `n` entries (keys k0..k{n-1}, or all one key when `same`).
  auto build = [&](int n, int64_t begin_ts, bool same) {
    const std::string path = tmp.path() + "/idx" + std::to_string(file_no++);
    auto f = Must(li::IndexFile::Create(env, path, kSlots, kEntries, 1000, begin_ts), "create");
    for (int i = 0; i < n; ++i) {
      const std::string key = same ? std::string("T#same") : "T#k" + std::to_string(i);
      if (!f->Put(key, 1000 + i * 100, kTs + i * 1500)) Die("index put");
    }
    Must(f->Flush(), "flush");
    f.reset();
    return lf::ReadWholeFile(path);
  };
  const std::string five = build(5, 0, false);
  c.Add("fresh", build(0, 0, false));
  c.Add("fresh-begin-ts", build(0, kTs - 5000, false));
  c.Add("five-entries", five);
  c.Add("thirty-entries", build(30, 0, false));
  c.Add("one-key-chain", build(20, 0, true));
  c.Add("full", build(63, kTs, false));
  const size_t entries_at = static_cast<size_t>(li::kIndexHeaderSize + kSlots * li::kIndexSlotSize);
  auto header_patch = [&](const std::string& img, size_t pos, int32_t v) {
    std::string s = img;
    li::PutBE32(s.data() + pos, static_cast<uint32_t>(v));
    return s;
  };
  c.Add("count-zero", header_patch(five, 36, 0));
  c.Add("count-over-max", header_patch(five, 36, kEntries + 1));
  c.Add("slots-over-max", header_patch(five, 32, kSlots + 1));
  {
    std::string s = five;
    li::PutBE64(s.data() + 16, 5000);  // begin > end
    li::PutBE64(s.data() + 24, 10);
    c.Add("end-before-begin", s);
  }
  {
    std::string s = build(6, 0, true);
    // Entry 5 points back at itself, entry 3 at 5: a cycle.
    li::PutBE32(s.data() + entries_at + 5 * 20 + 16, 5);
    li::PutBE32(s.data() + entries_at + 3 * 20 + 16, 5);
    c.Add("chain-cycle", s);
  }
  {
    std::string s = five;
    for (int slot = 0; slot < kSlots; ++slot) {
      li::PutBE32(s.data() + li::kIndexHeaderSize + slot * 4, slot % 2 ? 1000 : -3);
    }
    c.Add("slots-out-of-range", s);
  }
  {
    std::string s = build(10, 0, true);
    for (int e = 1; e < 10; ++e) {
      li::PutBE32(s.data() + entries_at + e * 20 + 12, -1 - e);           // negative time diffs
      li::PutBE32(s.data() + entries_at + e * 20 + 16, e % 2 ? -7 : 63);  // bad prev links
    }
    c.Add("bad-entries", s);
  }
  {
    std::string s = five;
    li::PutBE64(s.data(), kTs);      // begin timestamp
    li::PutBE64(s.data() + 8, kTs);  // end timestamp
    c.Add("begin-ts-set", s);
  }
  c.Add("truncated-header", five.substr(0, 30));
  c.Add("half-file", five.substr(0, five.size() / 2));
  c.Add("empty", "");
}

// ------------------------------------------------------------------------------------------

struct BuiltStore {
  std::string log;               // CommitLog file 0, trailing zeros trimmed
  std::string cq;                // TopicA-0 ConsumeQueue, trailing zeros trimmed
  std::string checkpoint;        // first 24 bytes
  std::vector<int64_t> offsets;  // physical offset of every record put
};

// Runs a store with the fuzz options and puts `msgs` (one at a time, or as one batch).
BuiltStore BuildStore(const std::vector<MessageToStore>& msgs, bool batch = false) {
  libstore::testing::TempDir tmp("make-seeds");
  ClockEnv env(libstore::Env::Default());
  const std::string root = tmp.path() + "/store";
  const libstore::StoreOptions o =
      lf::RecoveryOptions(root, &env, lf::kFlagIndex | lf::kFlagCheckCrc);
  auto store = Must(libstore::MessageStore::Open(o), "open");
  BuiltStore out;
  if (batch) {
    env.Set(kTs);
    auto r = Must(store->PutBatch(msgs), "put batch");
    int64_t off = r.wrote_offset.value();
    for (const auto& m : msgs) {
      out.offsets.push_back(off);
      off += li::RecordLength(
          static_cast<int64_t>(m.body.size()), static_cast<int64_t>(m.topic.size()),
          static_cast<int64_t>(m.properties.size()), m.born_host.is_v6(), false);
    }
  } else {
    for (size_t i = 0; i < msgs.size(); ++i) {
      env.Set(kTs + static_cast<int64_t>(i) * 1000);
      auto r = Must(store->Put(msgs[i]), "put");
      out.offsets.push_back(r.wrote_offset.value());
    }
  }
  Must(store->WaitForDispatch(10000), "dispatch");
  Must(store->Close(), "close");
  store.reset();
  out.log = TrimZeros(lf::ReadWholeFile(root + "/commitlog/" + li::OffsetFileName(0)));
  out.cq = TrimZeros(lf::ReadWholeFile(root + "/consumequeue/TopicA/0/" + li::OffsetFileName(0)));
  out.checkpoint = lf::ReadWholeFile(root + "/checkpoint").substr(0, 24);
  return out;
}

std::string RecoverySeed(uint8_t flags, const std::string& log, const std::string& cq = "",
                         const std::string& checkpoint = "", const std::string& file1 = "") {
  lf::RecoveryInput in;
  in.flags = flags;
  in.checkpoint = checkpoint;
  in.cq_image = cq;
  in.file0 = log;
  in.file1 = file1;
  return in.Encode();
}

std::string Checkpoint(int64_t physic, int64_t logics, int64_t index) {
  std::string s;
  li::AppendBE64(&s, static_cast<uint64_t>(physic));
  li::AppendBE64(&s, static_cast<uint64_t>(logics));
  li::AppendBE64(&s, static_cast<uint64_t>(index));
  return s;
}

void RecoverySeeds(const std::string& root) {
  Corpus c(root, "fuzz_recovery");
  constexpr uint8_t kCrc = lf::kFlagCheckCrc, kIdx = lf::kFlagIndex, kAbort = lf::kFlagAbort,
                    kCp = lf::kFlagCheckpoint, kCq = lf::kFlagCq, kTwo = lf::kFlagTwoFiles;

  std::vector<MessageToStore> msgs;
  const char* topics[] = {"TopicA", "TopicA", "TopicB"};
  for (int i = 0; i < 24; ++i) {
    const int q = i % 3;
    msgs.push_back(
        MakeMessage(topics[q], q == 1 ? 1 : 0, Body(i, 10 + (i * 53) % 600),
                    "Tag" + std::to_string(i % 4), "key-" + std::to_string(i),
                    "UNIQ-" + std::string(8 - std::to_string(i).size(), '0') + std::to_string(i)));
  }
  const BuiltStore basic = BuildStore(msgs);
  c.Add("clean-crc-index", RecoverySeed(kCrc | kIdx, basic.log));
  c.Add("clean-with-cq-checkpoint",
        RecoverySeed(kCrc | kIdx | kCq | kCp, basic.log, basic.cq, basic.checkpoint));
  c.Add("abort-checkpoint",
        RecoverySeed(kCrc | kIdx | kAbort | kCp, basic.log, "", basic.checkpoint));
  c.Add("abort-cq-checkpoint",
        RecoverySeed(kCrc | kAbort | kCq | kCp, basic.log, basic.cq, basic.checkpoint));
  c.Add("no-crc-no-index", RecoverySeed(0, basic.log));
  {
    // Torn tail: the last record is cut in the middle.
    const std::string torn = basic.log.substr(0, basic.log.size() - 37);
    c.Add("torn-tail-abort", RecoverySeed(kCrc | kIdx | kAbort, torn));
    // A bit flipped inside a body: cut there with the CRC check, kept without it.
    std::string flipped = basic.log;
    flipped[static_cast<size_t>(basic.offsets[10]) + 120] ^= 0x04;
    c.Add("body-bitflip-crc", RecoverySeed(kCrc | kIdx | kAbort, flipped));
    c.Add("body-bitflip-no-crc", RecoverySeed(kIdx, flipped));
    // A record whose PHYSICALOFFSET is wrong.
    std::string moved = basic.log;
    li::PutBE64(moved.data() + basic.offsets[7] + li::kPhysicalOffsetPos, 12345);
    c.Add("wrong-physical-offset", RecoverySeed(kCrc | kIdx, moved));
    // Garbage after the last record.
    c.Add("garbage-after-end", RecoverySeed(kCrc | kIdx, basic.log + "\x01\x02\x03garbage"));
    // The queue has units the CommitLog no longer has (it was cut): TruncateDirty.
    const std::string first_half = basic.log.substr(0, static_cast<size_t>(basic.offsets[12]));
    c.Add("cq-ahead-of-log", RecoverySeed(kCrc | kCq | kAbort, first_half, basic.cq));
    // The queue lags behind: redispatch.
    c.Add("cq-behind-log", RecoverySeed(kCrc | kCq | kIdx, basic.log, basic.cq.substr(0, 60)));
    // Stale units after a zero unit.
    c.Add("cq-stale-after-gap",
          RecoverySeed(kCrc | kCq, basic.log,
                       basic.cq + std::string(20, '\0') + Unit(900000, 300, 0)));
    // No CommitLog, but a queue: the queue is dropped.
    c.Add("cq-without-log", RecoverySeed(kCq, "", basic.cq));
  }
  {
    std::vector<MessageToStore> special;
    for (int i = 0; i < 6; ++i) {
      MessageToStore m =
          MakeMessage("TopicA", 0, Body(100 + i, 80), "TagT", "tx-" + std::to_string(i));
      const int32_t kinds[] = {
          libstore::sysflag::kTransactionNotType, libstore::sysflag::kTransactionPrepared,
          libstore::sysflag::kTransactionCommit, libstore::sysflag::kTransactionRollback};
      m.sys_flag = kinds[i % 4];
      m.reconsume_times = i;
      special.push_back(m);
    }
    MessageToStore delayed = MakeMessage("SCHEDULE_TOPIC_XXXX", 2, "delayed", "", "d-1");
    libstore::Properties p = libstore::Properties::Decode(delayed.properties);
    p.Set("DELAY", "3");
    p.Set("REAL_TOPIC", "TopicA");
    p.Set("REAL_QID", "0");
    delayed.properties = p.Encode();
    special.push_back(delayed);
    MessageToStore v6 = MakeMessage("TopicA", 3, "from ipv6", "Tag6", "v6-key");
    v6.born_host = Host("[2001:db8::7]:50001");
    special.push_back(v6);
    special.push_back(MakeMessage("TopicA", 0, Body(7, 12000), "Big"));
    const BuiltStore s = BuildStore(special);
    c.Add("tx-delay-v6-big", RecoverySeed(kCrc | kIdx, s.log));
    c.Add("tx-delay-v6-big-abort",
          RecoverySeed(kCrc | kIdx | kAbort | kCp, s.log, "", s.checkpoint));
  }
  {
    std::vector<MessageToStore> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(MakeMessage("TopicA", 0, Body(200 + i, 40), "B"));
    const BuiltStore s = BuildStore(batch, /*batch=*/true);
    c.Add("batch", RecoverySeed(kCrc | kIdx | kCq, s.log, s.cq));
  }
  {
    // Two CommitLog files, written with the encoder: file 0 ends with a blank filler.
    std::string file0, file1, cq;
    int64_t qo = 0;
    for (int i = 0; i < 6; ++i) {
      const MessageToStore m =
          MakeMessage("TopicA", 0, Body(300 + i, 200), "Tag2", "two-" + std::to_string(i));
      const std::string r = Record(m, qo++, static_cast<int64_t>(file0.size()), kTs + i * 1000);
      cq += Unit(static_cast<int64_t>(file0.size()), static_cast<int32_t>(r.size()),
                 libstore::JavaStringHash("Tag2"));
      file0 += r;
    }
    file0 +=
        Blank(static_cast<int32_t>(lf::kRecoveryLogFileSize - static_cast<int64_t>(file0.size())));
    for (int i = 0; i < 6; ++i) {
      const MessageToStore m =
          MakeMessage("TopicA", 0, Body(400 + i, 150), "Tag2", "two-b" + std::to_string(i));
      const int64_t phys = lf::kRecoveryLogFileSize + static_cast<int64_t>(file1.size());
      const std::string r = Record(m, qo++, phys, kTs + 10000 + i * 1000);
      cq += Unit(phys, static_cast<int32_t>(r.size()), libstore::JavaStringHash("Tag2"));
      file1 += r;
    }
    c.Add("two-files", RecoverySeed(kCrc | kIdx | kTwo, file0, "", "", file1));
    c.Add("two-files-cq", RecoverySeed(kCrc | kTwo | kCq, file0, cq, "", file1));
    // Abnormal: the checkpoint covers file 1's first record, so recovery starts at file 1.
    c.Add("two-files-abort-walkback",
          RecoverySeed(kCrc | kIdx | kTwo | kAbort | kCp, file0, "",
                       Checkpoint(kTs + 20000, kTs + 20000, kTs + 20000), file1));
    c.Add("two-files-abort-old-checkpoint", RecoverySeed(kCrc | kTwo | kAbort | kCp | kCq, file0,
                                                         cq, Checkpoint(kTs, kTs, 0), file1));
    // File 0 without its blank filler.
    c.Add("two-files-no-blank",
          RecoverySeed(kCrc | kTwo, file0.substr(0, file0.size() - 8), "", "", file1));
    // A small gap in the queue offsets (padding with blank units).
    std::string gap;
    for (int i = 0; i < 4; ++i) {
      const MessageToStore m = MakeMessage("TopicA", 0, Body(500 + i, 60), "G");
      gap += Record(m, i < 3 ? i : 7, static_cast<int64_t>(gap.size()), kTs + i);
    }
    c.Add("queue-offset-gap", RecoverySeed(kCrc | kIdx, gap));
  }
  c.Add("empty", "");
  c.Add("flags-only", std::string(1, static_cast<char>(kCrc | kIdx | kAbort)));
  c.Add("zero-files", RecoverySeed(kTwo | kCp, "", "", Checkpoint(kTs, kTs, kTs), ""));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  RecordSeeds(root);
  ConsumeQueueSeeds(root);
  IndexSeeds(root);
  RecoverySeeds(root);
  return 0;
}
