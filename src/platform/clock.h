/* Monotonic wall-clock time. */
#ifndef PTO2_PLATFORM_CLOCK_H
#define PTO2_PLATFORM_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t pto2__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
