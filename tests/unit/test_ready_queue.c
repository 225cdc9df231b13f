/* The ready queue on one thread: items come out in push order; pop on an
 * empty queue returns NULL; push on a full queue returns false and leaves the
 * contents intact; pto2__rq_nonempty follows the contents; reset empties a
 * queue (also a full one); thousands of push/pop cycles at every fill level
 * wrap the positions around the cells many times without losing order; a
 * capacity-2 queue (the smallest) works. */
#include <stdint.h>

#include "sched/ready_queue.h"
#include "util/alloc.h"
#include "test.h"

enum { CAP = 8, N = 64 };
static pto2__slot slots[N];

static void expect_pop(pto2__ready_queue *q, unsigned i) {
  pto2__slot *s = pto2__rq_pop_mc(q);
  if (s != &slots[i])
    TEST_FAIL("pop returned slot %td, want %u", s ? s - slots : (ptrdiff_t)-1, i);
}

int main(void) {
  pto2__ready_queue q;
  ASSERT_EQ_INT(pto2__rq_init(&q, CAP, &pto2__libc_allocator), 0);

  /* Empty. */
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL); /* a failed pop changes nothing */

  /* FIFO. */
  for (unsigned i = 0; i < 5; i++) ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[i]));
  ASSERT_TRUE(pto2__rq_nonempty(&q));
  for (unsigned i = 0; i < 5; i++) expect_pop(&q, i);
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));

  /* Full: exactly CAP items fit (positions now start at 5, so the cells
   * wrap); the next push fails and does not disturb them. */
  for (unsigned i = 0; i < CAP; i++) ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[10 + i]));
  ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[40]));
  ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[41]));
  expect_pop(&q, 10);
  ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[40])); /* one cell freed: one push */
  ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[41]));
  for (unsigned i = 1; i < CAP; i++) expect_pop(&q, 10 + i);
  expect_pop(&q, 40);
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);

  /* Reset empties a full queue and makes all cells usable again. */
  for (unsigned i = 0; i < CAP; i++) ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[i]));
  ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[CAP]));
  pto2__rq_reset(&q);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  for (unsigned i = 0; i < CAP; i++) ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[20 + i]));
  ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[0]));
  for (unsigned i = 0; i < CAP; i++) expect_pop(&q, 20 + i);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));

  /* Wrap-around: at every fill level 0..CAP-1 kept as a backlog, push one
   * and pop one thousands of times; the output is the input sequence. */
  uint64_t in = 0, out = 0;
  for (unsigned level = 0; level < CAP; level++) {
    while (in - out < level) ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[in++ % N]));
    for (int k = 0; k < 5000; k++) {
      ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[in++ % N]));
      ASSERT_TRUE(pto2__rq_nonempty(&q));
      expect_pop(&q, (unsigned)(out++ % N));
    }
  }
  while (out < in) expect_pop(&q, (unsigned)(out++ % N));
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));
  ASSERT_TRUE(in > 100 * CAP);
  pto2__rq_fini(&q, &pto2__libc_allocator);

  /* Capacity 2, the smallest a Vyukov queue supports. */
  ASSERT_EQ_INT(pto2__rq_init(&q, 2, &pto2__libc_allocator), 0);
  for (unsigned i = 0; i < 100; i++) {
    ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[i % N]));
    ASSERT_TRUE(pto2__rq_push_mp(&q, &slots[(i + 1) % N]));
    ASSERT_TRUE(!pto2__rq_push_mp(&q, &slots[0]));
    expect_pop(&q, i % N);
    expect_pop(&q, (i + 1) % N);
    ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  }
  pto2__rq_fini(&q, &pto2__libc_allocator);
  TEST_PASS("test_ready_queue");
}
