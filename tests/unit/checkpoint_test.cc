// Unit tests of the StoreCheckpoint file: 4096 bytes of which the first 24 are three big-endian
// int64 timestamps, and RocketMQ's minTimestamp / minTimestampIndex arithmetic.
#include "recovery/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "libstore/env.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace libstore::internal {
namespace {

std::string ReadFile(const std::string& path) { return testing::ReadFileBytes(path); }

TEST(CheckpointCodecTest, EncodesThreeBigEndianLongsIn4096Bytes) {
  CheckpointData d;
  d.physic_msg_timestamp = 0x0102030405060708;
  d.logics_msg_timestamp = 0x1112131415161718;
  d.index_msg_timestamp = -2;
  const std::string enc = EncodeCheckpoint(d);
  ASSERT_EQ(enc.size(), 4096u);
  EXPECT_EQ(enc.substr(0, 24), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"
                                           "\x11\x12\x13\x14\x15\x16\x17\x18"
                                           "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE",
                                           24));
  EXPECT_EQ(enc.substr(24), std::string(4096 - 24, '\0'));
  const CheckpointData back = DecodeCheckpoint(enc.data());
  EXPECT_EQ(back.physic_msg_timestamp, d.physic_msg_timestamp);
  EXPECT_EQ(back.logics_msg_timestamp, d.logics_msg_timestamp);
  EXPECT_EQ(back.index_msg_timestamp, -2);
}

TEST(CheckpointCodecTest, DecodesJavaWrittenBytes) {
  // 1700000000000 = 0x0000018BCFE56800, as Java's ByteBuffer.putLong writes it.
  const std::string bytes(
      "\x00\x00\x01\x8B\xCF\xE5\x68\x00"
      "\x00\x00\x01\x8B\xCF\xE5\x6B\xE8"
      "\x00\x00\x00\x00\x00\x00\x00\x00",
      24);
  const CheckpointData d = DecodeCheckpoint(bytes.data());
  EXPECT_EQ(d.physic_msg_timestamp, 1700000000000);
  EXPECT_EQ(d.logics_msg_timestamp, 1700000001000);
  EXPECT_EQ(d.index_msg_timestamp, 0);
}

TEST(CheckpointMathTest, MinTimestamp) {
  CheckpointData d;
  d.physic_msg_timestamp = 10000;
  d.logics_msg_timestamp = 8000;
  d.index_msg_timestamp = 1000;
  EXPECT_EQ(d.MinTimestamp(), 5000);       // min(10000, 8000) - 3000
  EXPECT_EQ(d.MinTimestampIndex(), 1000);  // min(5000, 1000)
  d.index_msg_timestamp = 9000;
  EXPECT_EQ(d.MinTimestampIndex(), 5000);
  d.logics_msg_timestamp = 20000;
  EXPECT_EQ(d.MinTimestamp(), 7000);
  // Never negative.
  d.physic_msg_timestamp = 2999;
  EXPECT_EQ(d.MinTimestamp(), 0);
  d.physic_msg_timestamp = 3000;
  EXPECT_EQ(d.MinTimestamp(), 0);
  d.physic_msg_timestamp = 3001;
  EXPECT_EQ(d.MinTimestamp(), 1);
  EXPECT_EQ(CheckpointData{}.MinTimestamp(), 0);
  EXPECT_EQ(CheckpointData{}.MinTimestampIndex(), 0);
}

TEST(CheckpointFileTest, MissingFileReadsAsZeroAndFlushWrites4096Bytes) {
  testing::TempDir dir("checkpoint_test");
  const std::string path = dir.path() + "/checkpoint";
  {
    ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(Env::Default(), path));
    EXPECT_EQ(cp->data().physic_msg_timestamp, 0);
    EXPECT_EQ(cp->data().logics_msg_timestamp, 0);
    EXPECT_EQ(cp->data().index_msg_timestamp, 0);
    cp->mutable_data().physic_msg_timestamp = 1700000000000;
    cp->mutable_data().logics_msg_timestamp = 1700000001000;
    cp->mutable_data().index_msg_timestamp = 1699999999000;
    ASSERT_OK(cp->Flush());
  }
  const std::string bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 4096u);
  const CheckpointData on_disk = DecodeCheckpoint(bytes.data());
  EXPECT_EQ(on_disk.physic_msg_timestamp, 1700000000000);
  EXPECT_EQ(on_disk.logics_msg_timestamp, 1700000001000);
  EXPECT_EQ(on_disk.index_msg_timestamp, 1699999999000);

  ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(Env::Default(), path));
  EXPECT_EQ(cp->data().physic_msg_timestamp, 1700000000000);
  EXPECT_EQ(cp->data().logics_msg_timestamp, 1700000001000);
  EXPECT_EQ(cp->data().index_msg_timestamp, 1699999999000);
  // A second flush overwrites in place.
  cp->mutable_data().index_msg_timestamp = 5;
  ASSERT_OK(cp->Flush());
  EXPECT_EQ(DecodeCheckpoint(ReadFile(path).data()).index_msg_timestamp, 5);
  EXPECT_EQ(ReadFile(path).size(), 4096u);
}

TEST(CheckpointFileTest, ShortFileReadsAsZero) {
  testing::TempDir dir("checkpoint_test");
  const std::string path = dir.path() + "/checkpoint";
  { std::ofstream(path, std::ios::binary) << std::string(23, '\x7F'); }
  ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(Env::Default(), path));
  EXPECT_EQ(cp->data().physic_msg_timestamp, 0);
  EXPECT_EQ(cp->data().logics_msg_timestamp, 0);
  EXPECT_EQ(cp->data().index_msg_timestamp, 0);
}

TEST(CheckpointFileTest, ReadsAJavaSizedFile) {
  testing::TempDir dir("checkpoint_test");
  const std::string path = dir.path() + "/checkpoint";
  CheckpointData d;
  d.physic_msg_timestamp = 11;
  d.logics_msg_timestamp = 22;
  d.index_msg_timestamp = 33;
  std::string bytes = EncodeCheckpoint(d);
  bytes[100] = 'x';  // bytes past 24 are ignored (5.x uses 24..40)
  { std::ofstream(path, std::ios::binary) << bytes; }
  ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(Env::Default(), path));
  EXPECT_EQ(cp->data().physic_msg_timestamp, 11);
  EXPECT_EQ(cp->data().logics_msg_timestamp, 22);
  EXPECT_EQ(cp->data().index_msg_timestamp, 33);
}

}  // namespace
}  // namespace libstore::internal
