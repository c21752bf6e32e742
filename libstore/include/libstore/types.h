// Distinct value types for the distinct kinds of offsets in the store, so that a physical
// CommitLog offset can never be passed where a logical ConsumeQueue offset is expected.
// Thread-safety: plain values.
#ifndef LIBSTORE_TYPES_H_
#define LIBSTORE_TYPES_H_

#include <compare>
#include <cstdint>
#include <ostream>

namespace libstore {

template <typename Tag>
class StrongOffset {
 public:
  constexpr StrongOffset() = default;
  constexpr explicit StrongOffset(int64_t v) : v_(v) {}
  constexpr int64_t value() const { return v_; }
  constexpr auto operator<=>(const StrongOffset&) const = default;
  constexpr StrongOffset operator+(int64_t d) const { return StrongOffset(v_ + d); }
  constexpr StrongOffset operator-(int64_t d) const { return StrongOffset(v_ - d); }
  constexpr int64_t operator-(StrongOffset o) const { return v_ - o.v_; }
  StrongOffset& operator+=(int64_t d) {
    v_ += d;
    return *this;
  }
  friend std::ostream& operator<<(std::ostream& os, StrongOffset o) { return os << o.v_; }
  template <typename H>
  friend H AbslHashValue(H h, StrongOffset o) {
    return H::combine(std::move(h), o.v_);
  }

 private:
  int64_t v_ = 0;
};

struct PhysicalOffsetTag {};
struct QueueOffsetTag {};

// Global byte offset in the CommitLog (the record's PHYSICALOFFSET field).
using PhysicalOffset = StrongOffset<PhysicalOffsetTag>;
// Logical offset of a message in one (topic, queueId) ConsumeQueue; counts messages, not bytes.
using QueueOffset = StrongOffset<QueueOffsetTag>;

}  // namespace libstore

#endif  // LIBSTORE_TYPES_H_
