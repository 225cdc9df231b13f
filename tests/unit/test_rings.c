/* Ring allocators, on hand-built structs.
 * Heap (pto2__heap_try_alloc): buffers are placed at top; one that fits
 * exactly up to the end is placed there; one that would straddle the end
 * goes to offset 0 and the tail end is wasted (counted as live until the
 * tail passes it); an allocation that fills the free arc exactly leaves the
 * ring full (top - tail == size), and then even one byte fails: full is
 * never mistaken for empty; a drained ring rebases to 0 when a request fits
 * the heap but neither free arc; advancing the tail frees space; a failed
 * request leaves the ring unchanged; a zero-size request returns the current top without
 * moving it; high_water is the peak of top - tail.
 * Dependency pool (pto2__dep_pool_take / pto2__dep_pool_free): entries are
 * handed out in order, top_index wraps at a non-power-of-two capacity, free
 * counts follow top and tail across many wraps, and high_water is the peak
 * of top - tail. */
#include <stdint.h>

#include "ring/ring.h"
#include "test.h"

enum { HEAP = 1024 };
static char heap_mem[HEAP];

static pto2__heap heap_at(uint64_t top, uint64_t tail) {
  pto2__heap h = {.base = heap_mem, .size = HEAP, .top = top, .tail = tail};
  return h;
}

/* Expects the allocation to succeed at byte offset `at`, leaving top at
 * `top_after` (tail unchanged unless the ring rebased). */
#define EXPECT_ALLOC(h, n, at, top_after)                                        \
  do {                                                                           \
    char *p_ = pto2__heap_try_alloc(&(h), (n));                                  \
    ASSERT_TRUE(p_ != NULL);                                                     \
    ASSERT_EQ_I64(p_ - heap_mem, (at));                                          \
    ASSERT_EQ_U64((h).top, (top_after));                                         \
  } while (0)

/* Expects the allocation to fail and change nothing. */
#define EXPECT_FULL(h, n)                                                        \
  do {                                                                           \
    pto2__heap before_ = (h);                                                    \
    ASSERT_TRUE(pto2__heap_try_alloc(&(h), (n)) == NULL);                        \
    ASSERT_EQ_U64((h).top, before_.top);                                         \
    ASSERT_EQ_U64((h).tail, before_.tail);                                       \
    ASSERT_EQ_U64((h).high_water, before_.high_water);                           \
  } while (0)

static void test_heap_basic(void) {
  pto2__heap h = heap_at(0, 0);
  EXPECT_ALLOC(h, 100, 0, 100);
  EXPECT_ALLOC(h, 200, 100, 300);
  ASSERT_EQ_U64(h.high_water, 300);
  /* Zero bytes: the current top, not moved. */
  EXPECT_ALLOC(h, 0, 300, 300);
  /* Fill to the end exactly: placed at 300, top at the end. */
  EXPECT_ALLOC(h, HEAP - 300, 300, HEAP);
  ASSERT_EQ_U64(h.top - h.tail, HEAP);
  ASSERT_EQ_U64(h.high_water, HEAP);
  /* Full: top - tail == size is full, not empty. */
  EXPECT_FULL(h, 1);
  EXPECT_FULL(h, 64);
  EXPECT_FULL(h, HEAP);
  /* Retire the first buffer: 100 bytes at offset 0 are free again. */
  h.tail = 100;
  EXPECT_FULL(h, 101);
  EXPECT_ALLOC(h, 100, 0, HEAP + 100);
  EXPECT_FULL(h, 1);
  /* Retire everything: the ring is empty at offset 100. */
  h.tail = h.top;
  EXPECT_ALLOC(h, 900, 100, HEAP + 1000);
  ASSERT_EQ_U64(h.tail, HEAP + 100);
}

static void test_heap_wrap(void) {
  /* Live [600, 1000); free arcs [1000, 1024) and [0, 600). */
  pto2__heap h = heap_at(1000, 600);
  /* 24 bytes fit exactly at the end. */
  pto2__heap h2 = h;
  EXPECT_ALLOC(h2, 24, 1000, HEAP);
  /* 100 bytes do not fit at the end: placed at 0, the 24-byte tail end is
   * wasted (top advances past it). */
  EXPECT_ALLOC(h, 100, 0, HEAP + 100);
  ASSERT_EQ_U64(h.tail, 600);
  ASSERT_EQ_U64(h.high_water, HEAP + 100 - 600);
  /* Free arc is now [100, 600): 500 bytes.  501 fails; exactly 500 fills the
   * ring, after which it is full (top - tail == size). */
  EXPECT_FULL(h, 501);
  EXPECT_ALLOC(h, 500, 100, HEAP + 600);
  ASSERT_EQ_U64(h.top - h.tail, HEAP);
  ASSERT_EQ_U64(h.high_water, HEAP);
  EXPECT_FULL(h, 1);
  /* The tail passes the first buffer and the wasted end (the retired task's
   * end is top after its allocation, HEAP + 100): [600, 1024) and [0, 100)
   * are free, 524 bytes but only 424 contiguous at the end. */
  h.tail = HEAP + 100;
  EXPECT_FULL(h, 425 + 100);
  EXPECT_ALLOC(h, 424, 600, 2 * HEAP); /* exact fit up to the end */
  EXPECT_ALLOC(h, 100, 0, 2 * HEAP + 100);
  EXPECT_FULL(h, 1);
  ASSERT_EQ_U64(h.top - h.tail, HEAP);

  /* A request that fits neither the end arc nor the start arc fails even
   * though their sum would hold it (no straddling), and changes nothing. */
  h = heap_at(1000, 1000 - 950); /* live [50, 1000): arcs 24 at the end, 50 at 0 */
  EXPECT_FULL(h, 60);
  EXPECT_ALLOC(h, 50, 0, HEAP + 50); /* 50 fits the start arc exactly: waste 24 */
  ASSERT_EQ_U64(h.top - h.tail, HEAP);
  EXPECT_FULL(h, 1);
}

static void test_heap_rebase(void) {
  /* Drained ring at offset 1000: arcs are 24 at the end and 1000 at 0.  A
   * 1024-byte request fits the heap but neither arc: the ring restarts at 0
   * instead of failing forever (upstream #1514). */
  pto2__heap h = heap_at(1000, 1000);
  EXPECT_ALLOC(h, HEAP, 0, 2 * HEAP);
  ASSERT_EQ_U64(h.tail, HEAP);
  ASSERT_EQ_U64(h.top - h.tail, HEAP);
  ASSERT_EQ_U64(h.high_water, HEAP); /* the skipped end is not counted */
  EXPECT_FULL(h, 1);

  /* Drained at 500: 600 bytes fit neither [500, 1024) nor [0, 500). */
  h = heap_at(3 * HEAP + 500, 3 * HEAP + 500);
  EXPECT_ALLOC(h, 600, 0, 4 * HEAP + 600);
  ASSERT_EQ_U64(h.tail, 4 * HEAP);
  ASSERT_EQ_U64(h.high_water, 600);
  /* The remaining 424 bytes follow it. */
  EXPECT_FULL(h, 425);
  EXPECT_ALLOC(h, 424, 600, 5 * HEAP);
  EXPECT_FULL(h, 1);

  /* A drained ring whose request fits at top needs no rebase. */
  h = heap_at(300, 300);
  EXPECT_ALLOC(h, 724, 300, HEAP);
  ASSERT_EQ_U64(h.tail, 300);

  /* A non-empty ring never rebases: one live byte at 999 blocks it. */
  h = heap_at(1000, 999);
  EXPECT_FULL(h, 1000);
  EXPECT_ALLOC(h, 999, 0, HEAP + 999);
  EXPECT_FULL(h, 1);

  /* Larger than the heap: never, and an empty ring stays empty (callers
   * reject such requests before trying; the position may move). */
  h = heap_at(0, 0);
  ASSERT_TRUE(pto2__heap_try_alloc(&h, HEAP + 1) == NULL);
  ASSERT_EQ_U64(h.top, h.tail);
  h = heap_at(512, 512);
  ASSERT_TRUE(pto2__heap_try_alloc(&h, HEAP + 1) == NULL);
  ASSERT_EQ_U64(h.top, h.tail);
  EXPECT_ALLOC(h, HEAP, 0, h.tail + HEAP); /* still usable in full */
}

/* A long run of variable-size allocations with a FIFO of live buffers:
 * buffers never straddle the end, never overlap a live buffer, and
 * top - tail never exceeds the size. */
static void test_heap_churn(void) {
  enum { MAXLIVE = 64 };
  struct { uint64_t off, n, end; } live[MAXLIVE];
  unsigned head = 0, count = 0;
  pto2__heap h = heap_at(0, 0);
  uint64_t seed = 12345, allocs = 0;
  for (int step = 0; step < 200000; step++) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    uint64_t n = 1 + (seed >> 33) % 300;
    char *p = count < MAXLIVE ? pto2__heap_try_alloc(&h, n) : NULL;
    if (p) {
      uint64_t off = (uint64_t)(p - heap_mem);
      ASSERT_TRUE(off + n <= HEAP); /* no straddling */
      ASSERT_TRUE(h.top - h.tail <= HEAP);
      for (unsigned i = 0; i < count; i++) {
        unsigned k = (head + i) % MAXLIVE;
        ASSERT_TRUE(off + n <= live[k].off || live[k].off + live[k].n <= off);
      }
      unsigned k = (head + count++) % MAXLIVE;
      live[k].off = off;
      live[k].n = n;
      live[k].end = h.top;
      allocs++;
    } else {
      /* Full: retire the oldest buffer (tail = its task's end). */
      ASSERT_TRUE(count > 0);
      h.tail = live[head].end;
      head = (head + 1) % MAXLIVE;
      count--;
    }
  }
  ASSERT_TRUE(allocs > 10000);
  ASSERT_TRUE(h.high_water <= HEAP);
  ASSERT_TRUE(h.high_water > HEAP - 300);
}

static void test_dep_pool(void) {
  enum { CAP = 7 };
  pto2__dep_entry entries[CAP];
  pto2__dep_pool p = {.entries = entries, .capacity = CAP};
  ASSERT_EQ_U64(pto2__dep_pool_free(&p), CAP);
  /* Fill: entries in array order, then nothing is free. */
  for (unsigned i = 0; i < CAP; i++) {
    ASSERT_TRUE(pto2__dep_pool_take(&p) == &entries[i]);
    ASSERT_EQ_U64(pto2__dep_pool_free(&p), CAP - 1 - i);
  }
  ASSERT_EQ_U64(p.top, CAP);
  ASSERT_EQ_U64(p.top_index, 0);
  ASSERT_EQ_U64(p.high_water, CAP);
  /* Release 3, take 3: the index wraps to 0. */
  p.tail = 3;
  ASSERT_EQ_U64(pto2__dep_pool_free(&p), 3);
  for (unsigned i = 0; i < 3; i++) ASSERT_TRUE(pto2__dep_pool_take(&p) == &entries[i]);
  ASSERT_EQ_U64(pto2__dep_pool_free(&p), 0);
  ASSERT_EQ_U64(p.high_water, CAP);

  /* Many wraps with varying batch sizes: the entry is always
   * entries[top % capacity], the free count is capacity - (top - tail), and
   * high_water is the peak seen. */
  pto2__dep_pool q = {.entries = entries, .capacity = CAP};
  uint64_t peak = 0, seed = 99;
  for (int round = 0; round < 10000; round++) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    uint64_t want = (seed >> 40) % (CAP + 1);
    uint64_t avail = pto2__dep_pool_free(&q);
    uint64_t take = want < avail ? want : avail;
    for (uint64_t i = 0; i < take; i++) {
      uint64_t top = q.top;
      ASSERT_TRUE(pto2__dep_pool_take(&q) == &entries[top % CAP]);
      ASSERT_EQ_U64(q.top, top + 1);
      ASSERT_EQ_U64(q.top_index, (top + 1) % CAP);
      if (q.top - q.tail > peak) peak = q.top - q.tail;
    }
    ASSERT_EQ_U64(pto2__dep_pool_free(&q), CAP - (q.top - q.tail));
    ASSERT_EQ_U64(q.high_water, peak);
    /* Release a random prefix of the live entries. */
    q.tail += ((seed >> 20) % (q.top - q.tail + 1));
  }
  ASSERT_TRUE(q.top > 10 * CAP); /* many wraps happened */
  ASSERT_EQ_U64(q.high_water, CAP);
}

int main(void) {
  test_heap_basic();
  test_heap_wrap();
  test_heap_rebase();
  test_heap_churn();
  test_dep_pool();
  TEST_PASS("test_rings");
}
