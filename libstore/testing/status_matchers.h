// GoogleTest helpers for absl::Status / absl::StatusOr. Thread-safety: n/a (test code).
#ifndef LIBSTORE_TESTING_STATUS_MATCHERS_H_
#define LIBSTORE_TESTING_STATUS_MATCHERS_H_

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RS_TEST_CONCAT_INNER(a, b) a##b
#define RS_TEST_CONCAT(a, b) RS_TEST_CONCAT_INNER(a, b)

#define ASSERT_OK(expr)                                               \
  do {                                                                \
    const ::absl::Status rs_s_ = ::libstore::testing::ToStatus(expr); \
    ASSERT_TRUE(rs_s_.ok()) << #expr << ": " << rs_s_;                \
  } while (0)
#define EXPECT_OK(expr)                                               \
  do {                                                                \
    const ::absl::Status rs_s_ = ::libstore::testing::ToStatus(expr); \
    EXPECT_TRUE(rs_s_.ok()) << #expr << ": " << rs_s_;                \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(RS_TEST_CONCAT(rs_sor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)         \
  auto tmp = (expr);                                      \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status(); \
  lhs = std::move(tmp).value()

namespace libstore::testing {
inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace libstore::testing

#endif  // LIBSTORE_TESTING_STATUS_MATCHERS_H_
