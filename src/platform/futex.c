#include "platform/futex.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void pto2__futex_wait(atomic_uint *addr, uint32_t expected, uint64_t timeout_ns) {
  struct timespec ts, *tsp = 0;
  if (timeout_ns) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
    ts.tv_nsec = (long)(timeout_ns % 1000000000u);
    tsp = &ts;
  }
  /* EINTR, EAGAIN and ETIMEDOUT all mean "re-check the condition". */
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, tsp, 0, 0);
}

void pto2__futex_wake_all(atomic_uint *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0);
}
