// libFuzzer target: ConsumeQueue recovery over arbitrary file images.
//
// The input is the byte image of one queue (topic "T", queue 0) with 64 units (1280 bytes) per
// file: consecutive 1280-byte slices of the input become the files 0, 1280, ... (at least one,
// at most four; the last one is zero-padded). Then Load + Recover, Read of every unit,
// TruncateDirty at several CommitLog ends, Put after the recovered end, DeleteExpired, and a
// second Load + Recover of what is on disk. Invariants (abort() on violation):
//  * Load and Recover of correctly sized files succeed; min_offset <= max_offset;
//    max_physical_end >= 0;
//  * every unit in [min, max) is readable and holds the image's bytes unchanged (recovery only
//    cuts, it never rewrites units below the end); nothing outside [min, max) is readable;
//  * after TruncateDirty(end) the last unit is blank or ends at or before `end`, and max_offset
//    never grows;
//  * Put at max (+ a small gap) appends exactly that unit, padding the gap with blank units;
//  * a reload never sees more units than the queue it was written by.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "consumequeue/consume_queue.h"
#include "fuzz_util.h"
#include "libstore/env.h"
#include "util/coding.h"

namespace {

namespace li = libstore::internal;
using li::ConsumeQueue;
using li::CqUnit;
using li::kCqUnitSize;

constexpr int64_t kUnitsPerFile = 64;
constexpr int64_t kFileSize = kUnitsPerFile * kCqUnitSize;
constexpr int64_t kMaxFiles = 4;

bool SameUnit(const CqUnit& a, const CqUnit& b) {
  return a.physical_offset == b.physical_offset && a.size == b.size && a.tags_code == b.tags_code;
}

// Units in [min, max) read back as the image's bytes; nothing outside does.
void CheckUnits(const ConsumeQueue& cq, const std::string& image) {
  const int64_t min = cq.min_offset();
  const int64_t max = cq.max_offset();
  FUZZ_CHECK(0 <= min && min <= max);
  CqUnit u;
  FUZZ_CHECK(!cq.Read(min - 1, &u));
  FUZZ_CHECK(!cq.Read(max, &u));
  for (int64_t i = min; i < max; ++i) {
    if (!cq.Read(i, &u))
      FUZZ_FAIL("unit %lld in [%lld, %lld) is not readable", (long long)i, (long long)min,
                (long long)max);
    if (i * kCqUnitSize + kCqUnitSize <= static_cast<int64_t>(image.size())) {
      const CqUnit want = li::DecodeCqUnit(image.data() + i * kCqUnitSize);
      if (!SameUnit(u, want)) FUZZ_FAIL("unit %lld changed by recovery", (long long)i);
    }
    FUZZ_CHECK(cq.FileFor(i) != nullptr);
  }
}

void CheckTail(const ConsumeQueue& cq, int64_t commitlog_end) {
  if (cq.max_offset() <= cq.min_offset()) return;
  CqUnit u;
  FUZZ_CHECK(cq.Read(cq.max_offset() - 1, &u));
  // Units before the third-to-last file are not validated by Recover, so size may be <= 0;
  // compare without overflowing.
  if (!u.blank() && static_cast<__int128>(u.physical_offset) + u.size > commitlog_end) {
    FUZZ_FAIL("after TruncateDirty(%lld) the last unit still ends at %lld + %d",
              (long long)commitlog_end, (long long)u.physical_offset, u.size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  libstore::fuzz::ScratchDir dir;
  libstore::Env* env = libstore::Env::Default();
  const std::string cq_root = dir.path() + "/consumequeue";
  const std::string qdir = cq_root + "/T/0";
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const int64_t nfiles =
      std::clamp<int64_t>((static_cast<int64_t>(size) + kFileSize - 1) / kFileSize, 1, kMaxFiles);
  // The image as laid out on disk (the input, truncated / zero-padded to whole files).
  std::string image(in.substr(0, std::min<size_t>(size, nfiles * kFileSize)));
  image.resize(static_cast<size_t>(nfiles * kFileSize), '\0');
  for (int64_t i = 0; i < nfiles; ++i) {
    libstore::fuzz::WriteFileImage(qdir + "/" + li::OffsetFileName(i * kFileSize),
                                   std::string_view(image).substr(i * kFileSize, kFileSize),
                                   kFileSize);
  }

  ConsumeQueue cq(env, cq_root, "T", 0, kUnitsPerFile);
  absl::Status s = cq.Load();
  if (!s.ok()) FUZZ_FAIL("Load: %s", s.ToString().c_str());
  s = cq.Recover();
  if (!s.ok()) FUZZ_FAIL("Recover: %s", s.ToString().c_str());
  FUZZ_CHECK(cq.max_offset() <= nfiles * kUnitsPerFile);
  // The end of the last unit: never negative (a wrapped sum means an overflow, which a build
  // without UBSan would not report otherwise).
  if (cq.max_physical_end() < 0) {
    FUZZ_FAIL("Recover: max_physical_end %lld", static_cast<long long>(cq.max_physical_end()));
  }
  CheckUnits(cq, image);

  // CommitLog ends from "everything is there" down to "nothing is".
  const int64_t phys_end = cq.max_physical_end();
  const int64_t ends[] = {INT64_MAX, std::max<int64_t>(phys_end, 0),
                          std::max<int64_t>(phys_end, 0) / 2, 0};
  for (int64_t end : ends) {
    const int64_t before = cq.max_offset();
    s = cq.TruncateDirty(end);
    if (!s.ok()) FUZZ_FAIL("TruncateDirty(%lld): %s", (long long)end, s.ToString().c_str());
    FUZZ_CHECK(cq.max_offset() <= before);
    FUZZ_CHECK(cq.max_physical_end() >= 0);
    CheckTail(cq, end);
    CheckUnits(cq, image);
    if (end == INT64_MAX) FUZZ_CHECK(cq.max_offset() == before);
  }

  // Append after the recovered end (with a gap of 0..3 units chosen by the input).
  const int64_t gap = size > 0 ? data[size - 1] % 4 : 0;
  const int64_t at = cq.max_offset() + gap;
  const int64_t after = std::max<int64_t>(cq.max_physical_end(), 0);
  if (after < INT64_MAX / 2) {
    const CqUnit unit{after + 1, 100, 12345};
    const int64_t before = cq.max_offset();
    s = cq.Put(at, unit);
    if (!s.ok()) FUZZ_FAIL("Put: %s", s.ToString().c_str());
    FUZZ_CHECK(cq.max_offset() == at + 1);
    CqUnit u;
    for (int64_t i = before; i < at; ++i) FUZZ_CHECK(cq.Read(i, &u) && u.blank());
    FUZZ_CHECK(cq.Read(at, &u) && SameUnit(u, unit));
    FUZZ_CHECK(cq.max_physical_end() == unit.physical_offset + unit.size);
  }

  const int64_t min_before = cq.min_offset();
  auto deleted = cq.DeleteExpired(std::max<int64_t>(phys_end, 0) / 2);
  if (!deleted.ok()) FUZZ_FAIL("DeleteExpired: %s", deleted.status().ToString().c_str());
  FUZZ_CHECK(cq.min_offset() >= min_before);
  FUZZ_CHECK(cq.min_offset() <= cq.max_offset());
  CqUnit u;
  for (int64_t i = cq.min_offset(); i < cq.max_offset(); ++i) FUZZ_CHECK(cq.Read(i, &u));
  s = cq.Flush();
  if (!s.ok()) FUZZ_FAIL("Flush: %s", s.ToString().c_str());

  // What is on disk now recovers to at most what the queue held.
  ConsumeQueue again(env, cq_root, "T", 0, kUnitsPerFile);
  s = again.Load();
  if (!s.ok()) FUZZ_FAIL("reload: %s", s.ToString().c_str());
  s = again.Recover();
  if (!s.ok()) FUZZ_FAIL("re-recover: %s", s.ToString().c_str());
  if (again.max_offset() > cq.max_offset()) {
    FUZZ_FAIL("reload recovered %lld units, the queue had %lld", (long long)again.max_offset(),
              (long long)cq.max_offset());
  }
  FUZZ_CHECK(again.min_offset() <= again.max_offset());
  return 0;
}
