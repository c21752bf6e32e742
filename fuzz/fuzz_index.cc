// libFuzzer target: IndexFile / IndexService over arbitrary index file images.
//
// The input is the image of one index file of a small configuration (16 hash slots, 64
// entries: 40 + 16*4 + 64*20 = 1384 bytes; the input is truncated or zero-padded to that).
// It is opened directly (IndexFile::Open, Select with keys covering every slot, then Put until
// full) and, from a second copy, through IndexService (Load, Query, BuildIndex, Load with
// dropping parameters). Invariants (abort() on violation):
//  * Open either fails with DataLoss or yields a header within its documented bounds;
//  * Select / Query never return more than asked for;
//  * an entry just written is found: Put(k) then Select(k) over all time returns it first, and
//    BuildIndex then Query finds the message under its unique key and each of its keys;
//  * Put fills the file to exactly max_entries - 1 entries (entry 0 is never used);
//  * IndexService::Load never fails on a bad file (it drops it).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "index/index_file.h"
#include "libstore/env.h"
#include "util/hash.h"

namespace {

namespace li = libstore::internal;
using li::IndexFile;
using li::IndexService;

constexpr int32_t kSlots = 16;
constexpr int32_t kEntries = 64;
constexpr char kFileName[] = "20240101000000000";

// One key per hash slot ("T#k<n>"), so that every slot's chain gets walked.
const std::vector<std::string>& SlotKeys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out(kSlots);
    std::vector<bool> have(kSlots, false);
    int found = 0;
    for (int n = 0; found < kSlots && n < 100000; ++n) {
      std::string k = "T#k" + std::to_string(n);
      const int32_t slot = li::IndexKeyHash(k) % kSlots;
      if (!have[slot]) {
        have[slot] = true;
        out[slot] = k;
        ++found;
      }
    }
    return out;
  }();
  return keys;
}

void CheckHeader(const li::IndexHeader& h) {
  FUZZ_CHECK(h.index_count >= 1 && h.index_count <= kEntries);
  FUZZ_CHECK(h.hash_slot_count >= 0 && h.hash_slot_count <= kSlots);
  FUZZ_CHECK(h.begin_phy_offset <= h.end_phy_offset);
}

void ExerciseFile(libstore::Env* env, const std::string& path) {
  auto opened = IndexFile::Open(env, path, kSlots, kEntries);
  if (!opened.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(opened.status()) && !opened.status().message().empty());
    return;
  }
  IndexFile& f = **opened;
  const li::IndexHeader h = f.header();
  CheckHeader(h);
  std::vector<int64_t> out;
  for (const std::string& k : SlotKeys()) {
    for (size_t max_num : {size_t{1}, size_t{kEntries}}) {
      out.clear();
      f.Select(k, max_num, INT64_MIN, INT64_MAX, &out);
      FUZZ_CHECK(out.size() <= max_num);
      out.clear();
      f.Select(k, max_num, h.begin_timestamp, h.end_timestamp, &out);
      FUZZ_CHECK(out.size() <= max_num);
    }
  }
  // Fill the file; every entry written is found right away.
  int64_t phy = std::clamp<int64_t>(h.end_phy_offset, 0, INT64_MAX / 2);
  int puts = 0;
  for (int i = 0; i < kEntries; ++i) {
    const std::string& k = SlotKeys()[static_cast<size_t>(i) % SlotKeys().size()];
    const li::IndexHeader before = f.header();
    if (!f.Put(k, phy, 1700000000000 + i * 1000)) {
      FUZZ_CHECK(before.index_count >= kEntries);
      break;
    }
    ++puts;
    const li::IndexHeader after = f.header();
    FUZZ_CHECK(after.index_count == before.index_count + 1);
    FUZZ_CHECK(after.end_phy_offset == phy);
    out.clear();
    f.Select(k, 1, INT64_MIN, INT64_MAX, &out);
    if (out.size() != 1 || out[0] != phy) {
      FUZZ_FAIL("entry %d (offset %lld) written under '%s' is not found", after.index_count - 1,
                static_cast<long long>(phy), k.c_str());
    }
    ++phy;
  }
  FUZZ_CHECK(f.full());
  FUZZ_CHECK(f.header().index_count == kEntries);
  FUZZ_CHECK(puts == kEntries - h.index_count);
  FUZZ_CHECK(f.Flush().ok());
}

void ExerciseService(libstore::Env* env, const std::string& dir) {
  IndexService svc(env, dir, kSlots, kEntries);
  auto loaded = svc.Load(-1, INT64_MAX);
  if (!loaded.ok()) FUZZ_FAIL("Load: %s", loaded.status().ToString().c_str());
  for (const std::string& k : SlotKeys()) {
    const std::string key = k.substr(2);  // without "T#"
    FUZZ_CHECK(svc.Query("T", key, 8, INT64_MIN, INT64_MAX).size() <= 8);
    FUZZ_CHECK(svc.Query("T", key, 1, 0, 1700000000000).size() <= 1);
  }
  const int64_t end = svc.IndexedEnd();
  if (end >= 0 && end < INT64_MAX / 2) {
    const int64_t phy = end + 1;
    absl::Status s = svc.BuildIndex("T", "UNIQ0001", "alpha beta", phy, 100, 1700000001000);
    if (!s.ok()) FUZZ_FAIL("BuildIndex: %s", s.ToString().c_str());
    for (const char* key : {"UNIQ0001", "alpha", "beta"}) {
      const std::vector<int64_t> got = svc.Query("T", key, 4, INT64_MIN, INT64_MAX);
      if (got.empty() || got[0] != phy) {
        FUZZ_FAIL("key '%s' indexed at %lld is not found", key, static_cast<long long>(phy));
      }
    }
    auto flushed = svc.Flush();
    if (!flushed.ok()) FUZZ_FAIL("Flush: %s", flushed.status().ToString().c_str());
  }
  // Reloads that drop files (abnormal recovery; a CommitLog cut short).
  for (int64_t commitlog_end : {end, end / 2, int64_t{0}}) {
    auto again = svc.Load(1700000000500, commitlog_end);
    if (!again.ok()) FUZZ_FAIL("reload: %s", again.status().ToString().c_str());
    FUZZ_CHECK(svc.Query("T", "alpha", 4, INT64_MIN, INT64_MAX).size() <= 4);
  }
  auto del = svc.DeleteExpired(INT64_MAX);
  if (!del.ok()) FUZZ_FAIL("DeleteExpired: %s", del.status().ToString().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  libstore::fuzz::ScratchDir dir;
  libstore::Env* env = libstore::Env::Default();
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const int64_t file_size = IndexFile::FileSize(kSlots, kEntries);
  const std::string direct = dir.path() + "/direct/" + kFileName;
  const std::string svc_dir = dir.path() + "/index";
  libstore::fuzz::WriteFileImage(direct, in, file_size);
  libstore::fuzz::WriteFileImage(svc_dir + "/" + kFileName, in, file_size);
  ExerciseFile(env, direct);
  ExerciseService(env, svc_dir);
  return 0;
}
