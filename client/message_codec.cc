// Decoder of stored message records; see message_codec.h.
#include "client/message_codec.h"

#include "absl/strings/str_cat.h"

namespace rsclient {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool Has(size_t n) const { return pos_ + n <= b_.size(); }
  uint64_t Be(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += static_cast<size_t>(n);
    return v;
  }
  std::string_view View(size_t n) {
    std::string_view s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void Skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

constexpr int32_t kMagicV1 = static_cast<int32_t>(0xDAA320A7);
constexpr int32_t kMagicV2 = static_cast<int32_t>(0xDAA320AB);

}  // namespace

absl::Status VisitRecords(std::string_view bytes,
                          const std::function<absl::Status(const RecordView&)>& visit) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 8) {
      return absl::InvalidArgumentError(absl::StrCat("record at byte ", at, ": truncated header"));
    }
    Reader h(bytes.substr(at));
    const auto total = static_cast<int32_t>(h.Be(4));
    const auto magic = static_cast<int32_t>(h.Be(4));
    if (total < 8 || static_cast<size_t>(total) > bytes.size() - at) {
      return absl::InvalidArgumentError(
          absl::StrCat("record at byte ", at, ": size ", total, " does not fit"));
    }
    if (magic != kMagicV1 && magic != kMagicV2) {
      return absl::InvalidArgumentError(absl::StrCat("record at byte ", at, ": bad magic"));
    }
    Reader r(bytes.substr(at, static_cast<size_t>(total)));
    RecordView m;
    // Fixed part up to the born host: 4+4+4+4+4+8+8+4+8 = 48 bytes.
    if (!r.Has(48)) return absl::InvalidArgumentError("record too short");
    r.Skip(12);  // size, magic, body CRC
    m.queue_id = static_cast<int32_t>(r.Be(4));
    m.flag = static_cast<int32_t>(r.Be(4));
    m.queue_offset = static_cast<int64_t>(r.Be(8));
    m.commit_log_offset = static_cast<int64_t>(r.Be(8));
    m.sys_flag = static_cast<int32_t>(r.Be(4));
    m.born_timestamp_ms = static_cast<int64_t>(r.Be(8));
    const size_t born = (m.sys_flag & 0x10) ? 20 : 8, store = (m.sys_flag & 0x20) ? 20 : 8;
    if (!r.Has(born + 8 + store + 4 + 8 + 4)) return absl::InvalidArgumentError("record too short");
    r.Skip(born);
    m.store_timestamp_ms = static_cast<int64_t>(r.Be(8));
    r.Skip(store);
    m.reconsume_times = static_cast<int32_t>(r.Be(4));
    r.Skip(8);  // prepared transaction offset
    const auto body_len = static_cast<int32_t>(r.Be(4));
    if (body_len < 0 || !r.Has(static_cast<size_t>(body_len) + 1)) {
      return absl::InvalidArgumentError(absl::StrCat("record at byte ", at, ": bad body length"));
    }
    m.body = r.View(static_cast<size_t>(body_len));
    const size_t topic_len = magic == kMagicV2 ? r.Be(2) : r.Be(1);
    if (!r.Has(topic_len + 2)) return absl::InvalidArgumentError("bad topic length");
    m.topic = r.View(topic_len);
    const size_t props_len = r.Be(2);
    if (!r.Has(props_len)) return absl::InvalidArgumentError("bad properties length");
    m.properties = r.View(props_len);
    if (absl::Status s = visit(m); !s.ok()) return s;
    at += static_cast<size_t>(total);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ReceivedMessage>> DecodeMessages(std::string_view bytes) {
  std::vector<ReceivedMessage> out;
  absl::Status s = VisitRecords(bytes, [&out](const RecordView& v) {
    ReceivedMessage m;
    m.topic = std::string(v.topic);
    m.queue_id = v.queue_id;
    m.flag = v.flag;
    m.sys_flag = v.sys_flag;
    m.queue_offset = v.queue_offset;
    m.commit_log_offset = v.commit_log_offset;
    m.born_timestamp_ms = v.born_timestamp_ms;
    m.store_timestamp_ms = v.store_timestamp_ms;
    m.reconsume_times = v.reconsume_times;
    m.body = std::string(v.body);
    m.properties = std::string(v.properties);
    out.push_back(std::move(m));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

std::string_view FindPropertyView(std::string_view properties, std::string_view key) {
  size_t start = 0;
  while (start < properties.size()) {
    size_t end = properties.find('\x02', start);
    if (end == std::string_view::npos) end = properties.size();
    const std::string_view seg = properties.substr(start, end - start);
    const size_t sep = seg.find('\x01');
    if (sep != std::string_view::npos && seg.substr(0, sep) == key) return seg.substr(sep + 1);
    start = end + 1;
  }
  return {};
}

std::string GetProperty(std::string_view properties, std::string_view key) {
  return std::string(FindPropertyView(properties, key));
}

}  // namespace rsclient
