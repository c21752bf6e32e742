// Google Benchmark micro paths: record encode/decode, BODYCRC (libdeflate vs zlib), Java hash.
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "commitlog/record.h"
#include "libstore/message.h"
#include "testing/test_util.h"
#include "util/hash.h"

namespace {

void BM_EncodeRecord(benchmark::State& state) {
  auto m = libstore::testing::MakeMessage("BenchTopic", 1, std::string(state.range(0), 'x'), "TagA",
                                          "key-1");
  auto host = *libstore::HostAddress::Parse("127.0.0.1:10911");
  std::vector<char> buf(state.range(0) + 512);
  for (auto _ : state) {
    const int64_t n = libstore::internal::EncodeRecord(m, host, buf.data());
    libstore::internal::PatchRecord(buf.data(), 1, 2, 3);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeRecord)->Arg(100)->Arg(1024)->Arg(16384);

void BM_DecodeRecord(benchmark::State& state) {
  auto m = libstore::testing::MakeMessage("BenchTopic", 1, std::string(state.range(0), 'x'), "TagA",
                                          "key-1");
  auto host = *libstore::HostAddress::Parse("127.0.0.1:10911");
  std::vector<char> buf(state.range(0) + 512);
  const int64_t n = libstore::internal::EncodeRecord(m, host, buf.data());
  const bool crc = state.range(1) != 0;
  for (auto _ : state) {
    auto r = libstore::internal::DecodeRecord(std::string_view(buf.data(), n), crc);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * n);
}
BENCHMARK(BM_DecodeRecord)->Args({100, 0})->Args({100, 1})->Args({4096, 1})->Args({65536, 1});

void BM_BodyCrcLibdeflate(benchmark::State& state) {
  std::string data(state.range(0), 'q');
  for (auto _ : state) benchmark::DoNotOptimize(libstore::internal::BodyCrc(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BodyCrcLibdeflate)->Arg(100)->Arg(1024)->Arg(65536);

void BM_BodyCrcZlib(benchmark::State& state) {
  std::string data(state.range(0), 'q');
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())) &
        0x7FFFFFFF);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BodyCrcZlib)->Arg(100)->Arg(1024)->Arg(65536);

void BM_JavaStringHash(benchmark::State& state) {
  std::string key = "BenchTopic#order-1234567";
  for (auto _ : state) benchmark::DoNotOptimize(libstore::JavaStringHash(key));
}
BENCHMARK(BM_JavaStringHash);

}  // namespace

BENCHMARK_MAIN();
