// Always-on assertions for programmer errors (never for bytes from disk or sockets, which are
// validated and reported through absl::Status). Thread-safety: stateless.
#ifndef LIBSTORE_UTIL_CHECK_H_
#define LIBSTORE_UTIL_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace libstore::internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* expr,
                                     const std::string& values) {
  std::fprintf(stderr, "%s:%d: CHECK failed: %s %s\n", file, line, expr, values.c_str());
  std::fflush(stderr);
  std::abort();
}

template <typename A, typename B>
std::string CheckValues(const A& a, const B& b) {
  std::ostringstream os;
  os << "(" << a << " vs " << b << ")";
  return os.str();
}

}  // namespace libstore::internal

#define RS_CHECK(cond)                                                             \
  do {                                                                             \
    if (__builtin_expect(!(cond), 0))                                              \
      ::libstore::internal::CheckFailed(__FILE__, __LINE__, #cond, std::string()); \
  } while (0)

#define RS_CHECK_OP(a, op, b)                                                             \
  do {                                                                                    \
    const auto& rs_a_ = (a);                                                              \
    const auto& rs_b_ = (b);                                                              \
    if (__builtin_expect(!(rs_a_ op rs_b_), 0))                                           \
      ::libstore::internal::CheckFailed(__FILE__, __LINE__, #a " " #op " " #b,            \
                                        ::libstore::internal::CheckValues(rs_a_, rs_b_)); \
  } while (0)

#define RS_CHECK_EQ(a, b) RS_CHECK_OP(a, ==, b)
#define RS_CHECK_NE(a, b) RS_CHECK_OP(a, !=, b)
#define RS_CHECK_LE(a, b) RS_CHECK_OP(a, <=, b)
#define RS_CHECK_LT(a, b) RS_CHECK_OP(a, <, b)
#define RS_CHECK_GE(a, b) RS_CHECK_OP(a, >=, b)
#define RS_CHECK_GT(a, b) RS_CHECK_OP(a, >, b)

#define RS_RETURN_IF_ERROR(expr)     \
  do {                               \
    ::absl::Status rs_st_ = (expr);  \
    if (!rs_st_.ok()) return rs_st_; \
  } while (0)

#define RS_CONCAT_INNER(a, b) a##b
#define RS_CONCAT(a, b) RS_CONCAT_INNER(a, b)
#define RS_ASSIGN_OR_RETURN(lhs, expr) \
  RS_ASSIGN_OR_RETURN_IMPL(RS_CONCAT(rs_so_, __LINE__), lhs, expr)
#define RS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#endif  // LIBSTORE_UTIL_CHECK_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace libstore::internal {
// Debian's Abseil is built with its own absl::string_view; these convert at the boundary.
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view SV(absl::string_view s) { return std::string_view(s.data(), s.size()); }
}  // namespace libstore::internal
