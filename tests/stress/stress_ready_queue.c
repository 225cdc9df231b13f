/* Stress of the MPMC ready queue (sched/ready_queue.h): threads push and pop
 * distinct fake slot pointers, each the address of one element of a token
 * array, so the pointer encodes (producer, sequence).  Checked on every step:
 *  - a popped pointer is one of this phase's tokens and was not popped
 *    before (no duplicates);
 *  - each consumer sees every producer's sequence numbers in increasing
 *    order (per-producer FIFO);
 *  - a push fails only when the queue is full, and a pop returns NULL only
 *    when no published item is waiting (see the checks for what can be
 *    decided soundly from outside the queue).
 * After each phase every token has been popped exactly once (nothing lost)
 * and the queue is empty.  Phases: one producer, the other threads
 * consuming; the other threads producing, one consumer; half and half;
 * every thread both pushing and popping (as executors do).  A watchdog fails
 * the test when nothing moves for 20 s (items lost, or a thread stuck inside
 * the queue).
 *
 * Usage: stress_ready_queue <threads> <iterations> <capacity>
 *   iterations: items pushed per producer per phase
 *   capacity:   queue capacity, a power of two >= 2 (small = often full)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "sched/ready_queue.h"
#include "util/alloc.h"
#include "test.h"

enum { MAX_THREADS = 64, STALL_SECONDS = 20 };

static pto2__ready_queue q;
static uint64_t capacity;
static uint64_t iters;        /* items per producer */
static unsigned nproducers;   /* threads that push in this phase */
static unsigned nconsumers;   /* threads that pop in this phase */
static uint64_t total;        /* items pushed in this phase */
static uint64_t *tokens;      /* item (p, i) is &tokens[p * iters + i] */
static _Atomic uint8_t *seen; /* pops per item */
/* Completed pushes and pops (counted after the call returns).  seq_cst: the
 * checks compare counts read by one thread with counts bumped by others. */
static atomic_uint_fast64_t pushed_done, popped_done;
static atomic_uint_fast64_t full_pushes, empty_pops;
static atomic_bool phase_running;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static pto2__slot *item(unsigned p, uint64_t i) {
  return (pto2__slot *)(void *)&tokens[p * iters + i];
}

/* Per-consumer view: the last sequence seen from each producer. */
typedef struct consumer_view {
  int64_t last[MAX_THREADS];
  unsigned id;
} consumer_view;

/* ------------------------------------------------------------------------ */
/* Pop                                                                       */
/* ------------------------------------------------------------------------ */

/* Checks and records one popped item. */
static void on_item(consumer_view *v, pto2__slot *s) {
  uint64_t *tok = (uint64_t *)(void *)s;
  if (tok < tokens || tok >= tokens + total)
    TEST_FAIL("consumer %u popped %p, not an item of this phase", v->id, (void *)s);
  uint64_t idx = (uint64_t)(tok - tokens);
  unsigned p = (unsigned)(idx / iters);
  int64_t i = (int64_t)(idx % iters);
  /* Release: a producer that acquires this count also sees the cell that
   * the pop recycled (see on_full). */
  uint8_t before = atomic_fetch_add_explicit(&seen[idx], 1, memory_order_acq_rel);
  if (before != 0)
    TEST_FAIL("item (producer %u, seq %lld) popped twice (consumer %u)", p, (long long)i, v->id);
  if (i <= v->last[p])
    TEST_FAIL("consumer %u saw producer %u's seq %lld after seq %lld (FIFO)", v->id, p,
              (long long)i, (long long)v->last[p]);
  v->last[p] = i;
  atomic_fetch_add_explicit(&popped_done, 1, memory_order_seq_cst);
}

/* A pop returned NULL.  With one producer, published items form a prefix of
 * the positions, so if more pushes had completed before the call than pops
 * can have claimed by its end (ours claimed nothing; other consumers may
 * hold one each), the position this pop looked at held a published item
 * for the whole call: NULL is wrong. */
static void on_empty(consumer_view *v, uint64_t pushed_before) {
  atomic_fetch_add_explicit(&empty_pops, 1, memory_order_relaxed);
  if (nproducers != 1) return;
  uint64_t popped_after = atomic_load_explicit(&popped_done, memory_order_seq_cst);
  if (pushed_before > popped_after + (nconsumers - 1))
    TEST_FAIL("consumer %u: pop returned NULL with items waiting (%llu pushed before, %llu "
              "popped after)", v->id, (unsigned long long)pushed_before,
              (unsigned long long)popped_after);
}

static bool pop_one(consumer_view *v) {
  uint64_t pushed_before = atomic_load_explicit(&pushed_done, memory_order_seq_cst);
  pto2__slot *s = pto2__rq_pop_mc(&q);
  if (s) {
    on_item(v, s);
    return true;
  }
  on_empty(v, pushed_before);
  return false;
}

/* ------------------------------------------------------------------------ */
/* Push                                                                      */
/* ------------------------------------------------------------------------ */

/* A push of (p, i) failed, so at some moment during the call the pop of
 * position pos - capacity (pos: the position the push tried) had not
 * completed.
 *  - One producer: pos is i.  If token i - capacity had been popped before
 *    the call (its cell recycled), the failure is wrong; so is any failure
 *    before `capacity` pushes.
 *  - One consumer: pops complete in position order, so at that moment at
 *    most pos - capacity pops had completed, and pos is at most the pushes
 *    completed by the end of the call plus those other producers may have
 *    claimed (one each).
 *  - Otherwise other consumers may complete later positions first, which
 *    bounds completed pops by pos - 1 only: the queue was not empty. */
static void on_full(unsigned p, uint64_t i, uint8_t recycled_before, uint64_t popped_before) {
  atomic_fetch_add_explicit(&full_pushes, 1, memory_order_relaxed);
  if (nproducers == 1 && i >= capacity && recycled_before)
    TEST_FAIL("push of seq %llu failed although seq %llu had been popped: queue not full",
              (unsigned long long)i, (unsigned long long)(i - capacity));
  if (nproducers == 1 && i < capacity)
    TEST_FAIL("push of seq %llu failed before %llu items were ever pushed", (unsigned long long)i,
              (unsigned long long)capacity);
  uint64_t pushed_after = atomic_load_explicit(&pushed_done, memory_order_seq_cst);
  uint64_t max_pos = pushed_after + (nproducers - 1);
  uint64_t slack = nconsumers == 1 ? capacity : 1;
  if (popped_before + slack > max_pos)
    TEST_FAIL("producer %u: push failed on a queue that was not full (%llu pushed after, %llu "
              "popped before, capacity %llu, %u producers, %u consumers)", p,
              (unsigned long long)pushed_after, (unsigned long long)popped_before,
              (unsigned long long)capacity, nproducers, nconsumers);
}

static bool push_one(unsigned p, uint64_t i) {
  uint8_t recycled_before =
      i >= capacity ? atomic_load_explicit(&seen[p * iters + i - capacity], memory_order_seq_cst)
                    : 0;
  uint64_t popped_before = atomic_load_explicit(&popped_done, memory_order_seq_cst);
  if (pto2__rq_push_mp(&q, item(p, i))) {
    atomic_fetch_add_explicit(&pushed_done, 1, memory_order_seq_cst);
    return true;
  }
  on_full(p, i, recycled_before, popped_before);
  return false;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

/* Fails the test when neither a push nor a pop completes for STALL_SECONDS
 * (a thread spinning inside the queue cannot notice that itself). */
static void *run_watchdog(void *arg) {
  (void)arg;
  uint64_t last = UINT64_MAX;
  double last_change = now_s();
  while (atomic_load_explicit(&phase_running, memory_order_relaxed)) {
    uint64_t c = atomic_load_explicit(&pushed_done, memory_order_relaxed) +
                 atomic_load_explicit(&popped_done, memory_order_relaxed);
    double t = now_s();
    if (c != last) {
      last = c;
      last_change = t;
    } else if (t - last_change > STALL_SECONDS) {
      TEST_FAIL("no push or pop completed for %d s: %llu of %llu popped, %llu pushed",
                STALL_SECONDS, (unsigned long long)atomic_load(&popped_done),
                (unsigned long long)total, (unsigned long long)atomic_load(&pushed_done));
    }
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

typedef struct worker {
  pthread_t th;
  bool produce, consume;
  bool pace;               /* pause a random while after each success */
  unsigned producer_index; /* valid if produce */
  uint64_t rng;
  consumer_view view;
} worker;

/* A pause of 0..511 spin hints: lets the other side of a one-producer or
 * one-consumer phase run ahead, so the queue is often full there (one
 * producer, paced consumers) or often empty (one consumer, paced
 * producers), where the checks above are sharpest. */
static void pause_randomly(worker *w) {
  w->rng = w->rng * 6364136223846793005u + 1442695040888963407u;
  for (unsigned k = (unsigned)(w->rng >> 55); k; k--) pto2__cpu_relax();
}

static void *run_worker(void *arg) {
  worker *w = arg;
  uint64_t next = 0;
  for (unsigned p = 0; p < MAX_THREADS; p++) w->view.last[p] = -1;
  for (;;) {
    bool progressed = false;
    if (w->produce && next < iters && push_one(w->producer_index, next)) {
      next++;
      progressed = true;
      if (w->pace) pause_randomly(w);
    }
    if (w->consume && pop_one(&w->view)) {
      progressed = true;
      if (w->pace) pause_randomly(w);
    }
    bool pushed_all = !w->produce || next == iters;
    bool popped_all =
        !w->consume || atomic_load_explicit(&popped_done, memory_order_relaxed) == total;
    if (pushed_all && popped_all) break;
    if (!progressed) sched_yield();
  }
  return 0;
}

/* Runs `producers` pushing threads and `consumers` popping threads; with
 * `mixed`, the same threads do both (consumers == producers).  The many
 * side of a one-to-many phase is paced. */
static void run_phase(const char *name, unsigned producers, unsigned consumers, bool mixed) {
  unsigned n = mixed ? producers : producers + consumers;
  worker w[MAX_THREADS];
  nproducers = producers;
  nconsumers = consumers;
  total = (uint64_t)producers * iters;
  for (uint64_t k = 0; k < total; k++) atomic_store_explicit(&seen[k], 0, memory_order_relaxed);
  atomic_store(&pushed_done, 0);
  atomic_store(&popped_done, 0);
  atomic_store(&full_pushes, 0);
  atomic_store(&empty_pops, 0);
  pto2__rq_reset(&q);
  pthread_t dog;
  atomic_store(&phase_running, true);
  if (pthread_create(&dog, NULL, run_watchdog, NULL) != 0) TEST_FAIL("pthread_create");
  for (unsigned i = 0; i < n; i++) {
    w[i].view.id = i;
    w[i].produce = mixed || i < producers;
    w[i].consume = mixed || i >= producers;
    w[i].producer_index = i;
    w[i].rng = 0x9e3779b97f4a7c15u * (i + 1);
    w[i].pace = !mixed && ((producers == 1 && w[i].consume && consumers > 1) ||
                           (consumers == 1 && w[i].produce && producers > 1));
    if (pthread_create(&w[i].th, NULL, run_worker, &w[i]) != 0) TEST_FAIL("pthread_create");
  }
  for (unsigned i = 0; i < n; i++) pthread_join(w[i].th, NULL);
  atomic_store(&phase_running, false);
  pthread_join(dog, NULL);
  /* Nothing lost, nothing left. */
  for (uint64_t k = 0; k < total; k++)
    if (seen[k] != 1)
      TEST_FAIL("%s: item (producer %llu, seq %llu) popped %u times", name,
                (unsigned long long)(k / iters), (unsigned long long)(k % iters), seen[k]);
  ASSERT_EQ_U64(atomic_load(&pushed_done), total);
  ASSERT_EQ_U64(atomic_load(&popped_done), total);
  ASSERT_TRUE(pto2__rq_pop_mc(&q) == NULL);
  ASSERT_TRUE(!pto2__rq_nonempty(&q));
  printf("%s: %u producers, %u consumers%s: %llu items, %llu full pushes, %llu empty pops\n",
         name, producers, consumers, mixed ? " (the same threads)" : "",
         (unsigned long long)total, (unsigned long long)atomic_load(&full_pushes),
         (unsigned long long)atomic_load(&empty_pops));
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  long long iterations = argc > 2 ? atoll(argv[2]) : 100000;
  long long cap = argc > 3 ? atoll(argv[3]) : 8;
  if (threads < 2 || threads > MAX_THREADS || iterations < 1 || cap < 2 || (cap & (cap - 1)))
    TEST_FAIL("usage: stress_ready_queue <threads 2..%d> <iterations >= 1> <capacity: power "
              "of two >= 2>", MAX_THREADS);
  iters = (uint64_t)iterations;
  capacity = (uint64_t)cap;
  tokens = calloc((size_t)threads * iters, sizeof *tokens);
  seen = calloc((size_t)threads * iters, sizeof *seen);
  if (!tokens || !seen) TEST_FAIL("out of memory");
  ASSERT_EQ_INT(pto2__rq_init(&q, capacity, &pto2__libc_allocator), 0);

  unsigned t = (unsigned)threads;
  run_phase("one producer", 1, t - 1, false);
  run_phase("one consumer", t - 1, 1, false);
  run_phase("split", t / 2, t - t / 2, false);
  run_phase("mixed", t, t, true);

  pto2__rq_fini(&q, &pto2__libc_allocator);
  free(tokens);
  free((void *)seen);
  TEST_PASS("stress_ready_queue");
}
