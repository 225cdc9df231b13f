/*
 * Minimal test support: typed asserts that print both values and stop the
 * test with a failure, and the exit code for "skipped".
 */
#ifndef PTO2_TEST_H
#define PTO2_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SKIP_CODE 77

#define TEST_FAIL(...)                                                   \
  do {                                                                   \
    fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);              \
    fprintf(stderr, __VA_ARGS__);                                        \
    fprintf(stderr, "\n");                                               \
    exit(1);                                                             \
  } while (0)

#define ASSERT_TRUE(c)                                                   \
  do {                                                                   \
    if (!(c)) TEST_FAIL("expected true: %s", #c);                        \
  } while (0)

#define ASSERT_EQ_U64(a, b)                                                       \
  do {                                                                            \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                              \
    if (a_ != b_)                                                                 \
      TEST_FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_);             \
  } while (0)

#define ASSERT_EQ_I64(a, b)                                                       \
  do {                                                                            \
    int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                 \
    if (a_ != b_)                                                                 \
      TEST_FAIL("%s == %s: %" PRId64 " != %" PRId64, #a, #b, a_, b_);             \
  } while (0)

#define ASSERT_EQ_INT(a, b) ASSERT_EQ_I64(a, b)

#define ASSERT_STR_CONTAINS(hay, needle)                                          \
  do {                                                                            \
    const char *h_ = (hay), *n_ = (needle);                                       \
    if (!h_ || !strstr(h_, n_))                                                   \
      TEST_FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_);        \
  } while (0)

#define ASSERT_NEAR(a, b, tol)                                                    \
  do {                                                                            \
    double a_ = (double)(a), b_ = (double)(b);                                    \
    if (!(a_ - b_ <= (tol) && b_ - a_ <= (tol)))                                  \
      TEST_FAIL("%s ~= %s: %.9g vs %.9g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
  } while (0)

/* Runs with exit code 0 and a summary line. */
#define TEST_PASS(name)                        \
  do {                                         \
    printf("%s: 1 passed, 0 failed\n", name);  \
    return 0;                                  \
  } while (0)

#endif
