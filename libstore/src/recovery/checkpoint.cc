// StoreCheckpoint; see checkpoint.h.
#include "recovery/checkpoint.h"

#include <algorithm>

#include "util/check.h"
#include "util/coding.h"

namespace libstore::internal {

int64_t CheckpointData::MinTimestamp() const {
  const int64_t min = std::min(physic_msg_timestamp, logics_msg_timestamp);
  return min < 3000 ? 0 : min - 3000;
}

int64_t CheckpointData::MinTimestampIndex() const {
  return std::min(MinTimestamp(), index_msg_timestamp);
}

std::string EncodeCheckpoint(const CheckpointData& d) {
  std::string out(kCheckpointFileSize, '\0');
  PutBE64(out.data(), static_cast<uint64_t>(d.physic_msg_timestamp));
  PutBE64(out.data() + 8, static_cast<uint64_t>(d.logics_msg_timestamp));
  PutBE64(out.data() + 16, static_cast<uint64_t>(d.index_msg_timestamp));
  return out;
}

CheckpointData DecodeCheckpoint(const char* p) {
  CheckpointData d;
  d.physic_msg_timestamp = GetBEI64(p);
  d.logics_msg_timestamp = GetBEI64(p + 8);
  d.index_msg_timestamp = GetBEI64(p + 16);
  return d;
}

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(Env* env, const std::string& path) {
  RS_ASSIGN_OR_RETURN(auto f, env->OpenFile(path, true));
  RS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  std::unique_ptr<Checkpoint> cp(new Checkpoint(std::move(f)));
  if (size >= 24) {
    char buf[24];
    RS_RETURN_IF_ERROR(cp->file_->Read(0, 24, buf));
    cp->data_ = DecodeCheckpoint(buf);
  }
  return cp;
}

absl::Status Checkpoint::Flush() {
  RS_RETURN_IF_ERROR(file_->Write(0, EncodeCheckpoint(data_)));
  return file_->Sync();
}

}  // namespace libstore::internal
