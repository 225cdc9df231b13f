/*
 * The slot protocol step by step, through a manual scope (docs/concurrency.md, S1-S4):
 * fanin_remaining, fanout_count, fanout_refcount and state of each task
 * after every event.  With block_dim 1 there are no worker threads, so a
 * task runs only when the test runs it (pto2__run_one on executor 0).
 *
 *   P (AUTO, not yet run) creates X; W (AUTO, already completed) wrote Z.
 *   MANUAL { A: in X, out Y;  B: in Y, inout Z;  add_dependency(A, B) }
 *   (B reads A's Y: B holds A's memory alive, a lifetime hold that pto2
 *   adds for created tensors in MANUAL and GRAPH scopes; the edge then
 *   takes over that reference.  A and B are held back: their publish share
 *   is PTO2__HELD_SHARE, B counts the edge in late_fanin, and A, which
 *   cannot run yet, takes the hold and the link without its lock.)
 *   C (AUTO): in Z — finds B through the TensorMap.
 */
#include "runtime.h"
#include "sched/slot_inl.h"
#include "test.h"

static float zbuf[4];

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static pto2__slot *slot_of(pto2_runtime *rt, pto2_task_id id) {
  return pto2__ring_slot(&rt->rings[pto2_task_id_ring(id)], pto2_task_id_local(id));
}

#define REMAINING(s) atomic_load(&(s)->fanin_remaining)
#define FANOUT(s) atomic_load(&(s)->fanout_count)
#define RELEASED(s) atomic_load(&(s)->fanout_refcount)
#define STATE(s) atomic_load(&(s)->state)
/* What a held-back task waits for, its share counted as one (S1): the
 * producers linked at submit that have not finished, the producers of
 * explicit edges (late_fanin, added at the publish) and the publish. */
static int held_waits(const pto2__slot *s) {
  int state, waiting;
  pto2__slot_peek(s, &state, &waiting);
  return waiting;
}

/* Runs the next ready task on the orchestrating thread. */
static void run_one(pto2_runtime *rt) {
  pto2__orch_flush_ready(rt);
  ASSERT_TRUE(pto2__run_one(rt, &rt->executors[0]));
}

static void appendix_a(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t four[1] = {4};
  pto2_tensor z = pto2_tensor_external(zbuf, four, 1, PTO2_FLOAT32);
  pto2_create_info ci = pto2_create_info_make(four, 1, PTO2_FLOAT32);
  pto2_arg a;

  pto2_arg_init(&a); /* W wrote Z and has completed */
  pto2_arg_add_inout(&a, &z);
  pto2__slot *w = slot_of(rt, pto2_submit_aiv(rt, 0, &a));
  run_one(rt);
  ASSERT_EQ_INT(STATE(w), PTO2__TASK_COMPLETED);

  pto2_arg_init(&a); /* P creates X and has not run */
  pto2_arg_add_output(&a, &ci);
  pto2__slot *p = slot_of(rt, pto2_submit_aiv(rt, 0, &a));
  pto2_tensor x = a.outputs[0];
  ASSERT_EQ_INT(FANOUT(p), 1); /* its scope */

  pto2__slot *sa, *sb;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a); /* step 1: X is a boundary tensor (creator P) */
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output(&a, &ci);
    pto2_task_id ia = pto2_submit_aiv_manual(rt, 0, &a);
    pto2_tensor y = a.outputs[0];
    sa = slot_of(rt, ia);
    ASSERT_EQ_INT(FANOUT(p), 2);
    ASSERT_EQ_INT(REMAINING(sa), 1 + PTO2__HELD_SHARE); /* P + the held publish share */
    ASSERT_EQ_INT(held_waits(sa), 2);
    ASSERT_EQ_INT(FANOUT(sa), 1);

    pto2_arg_init(&a); /* step 2: Y is manual-local; Z boundary, W finished */
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_inout(&a, &z);
    pto2_task_id ib = pto2_submit_aiv_manual(rt, 0, &a);
    sb = slot_of(rt, ib);
    ASSERT_EQ_INT(FANOUT(w), 2);       /* B holds W until it completes */
    ASSERT_EQ_INT(REMAINING(sb), PTO2__HELD_SHARE); /* only the publish share */
    ASSERT_EQ_INT(held_waits(sb), 1);
    ASSERT_EQ_INT(FANOUT(sa), 2);      /* B's lifetime hold on Y's creator */
    ASSERT_EQ_INT(sb->payload->hold_mask, 2); /* fanin: W (finished producer), A (hold) */

    ASSERT_EQ_INT(pto2_add_dependency(rt, ia, ib), 0); /* step 3 */
    ASSERT_EQ_INT(FANOUT(sa), 2);      /* the edge takes over B's hold on A */
    ASSERT_EQ_INT(sb->payload->fanin_count, 2); /* W, A: both producers now */
    ASSERT_EQ_INT(sb->payload->hold_mask, 0);
    /* A is held back: linked without its lock, counted in B's late_fanin
     * (no atomic on B), entered with B's publish. */
    ASSERT_EQ_INT(REMAINING(sb), PTO2__HELD_SHARE);
    ASSERT_EQ_INT(sb->late_fanin, 1);
    ASSERT_EQ_INT(held_waits(sb), 2);
    ASSERT_TRUE(sa->fanout_head && sa->fanout_head->consumer == sb);
    ASSERT_EQ_INT(atomic_load(&sa->fanout_lock), 0);
    ASSERT_EQ_INT(STATE(sa), PTO2__TASK_PENDING);
  }
  /* Step 4: published, scope references dropped; neither is ready. */
  ASSERT_EQ_INT(REMAINING(sa), 1);
  ASSERT_EQ_INT(RELEASED(sa), 1);
  ASSERT_EQ_INT(REMAINING(sb), 1);
  ASSERT_EQ_INT(RELEASED(sb), 1);
  ASSERT_EQ_INT(STATE(sb), PTO2__TASK_PENDING);

  pto2_arg_init(&a); /* step 5: C finds B's write of Z */
  pto2_arg_add_input(&a, &z);
  pto2_arg_add_output(&a, &ci);
  pto2__slot *sc = slot_of(rt, pto2_submit_aiv(rt, 0, &a));
  ASSERT_EQ_INT(FANOUT(sb), 2);
  ASSERT_EQ_INT(REMAINING(sc), 1); /* waits for B */

  run_one(rt); /* step 6: P runs; A becomes ready */
  ASSERT_EQ_INT(STATE(p), PTO2__TASK_COMPLETED);
  ASSERT_EQ_INT(REMAINING(sa), 0);
  run_one(rt); /* step 7: A runs; B becomes ready; A releases P */
  ASSERT_EQ_INT(REMAINING(sb), 0);
  ASSERT_EQ_INT(RELEASED(p), 1);
  ASSERT_EQ_INT(STATE(sa), PTO2__TASK_COMPLETED); /* B has not released it */
  run_one(rt); /* step 8: B runs; C ready; A consumed; W released */
  ASSERT_EQ_INT(REMAINING(sc), 0);
  ASSERT_EQ_INT(STATE(sa), PTO2__TASK_CONSUMED);
  ASSERT_EQ_INT(RELEASED(w), 1);
  ASSERT_EQ_INT(STATE(sb), PTO2__TASK_COMPLETED); /* C still holds it */
  run_one(rt); /* C runs and releases B */
  ASSERT_EQ_INT(STATE(sb), PTO2__TASK_CONSUMED);
}

/* A held-back consumer at the bound: PTO2_MAX_FANIN producers by explicit
 * edges, half of them published (they finish while the consumer is held
 * back: their decrements must not reach zero), half held back in its own
 * scope (linked without their lock).  The publish adds all of them. */
static int completed(pto2__slot *const *s, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += STATE(s[i]) == PTO2__TASK_COMPLETED;
  return k;
}

static void late_edges_at_bound(pto2_runtime *rt, void *arg) {
  (void)arg;
  enum { HALF = PTO2_MAX_FANIN / 2 };
  pto2_arg a;
  pto2__slot *early[HALF], *late[HALF], *c;
  pto2_task_id early_ids[HALF];
  for (int i = 0; i < HALF; i++) {
    pto2_arg_init(&a);
    early_ids[i] = pto2_submit_aiv(rt, 0, &a); /* published, not run */
    early[i] = slot_of(rt, early_ids[i]);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg_init(&a);
    pto2_task_id ic = pto2_submit_aiv(rt, 0, &a);
    c = slot_of(rt, ic);
    ASSERT_EQ_INT(REMAINING(c), PTO2__HELD_SHARE);
    for (int i = 0; i < HALF; i++) ASSERT_EQ_INT(pto2_add_dependency(rt, early_ids[i], ic), 0);
    ASSERT_EQ_INT(c->late_fanin, HALF);
    ASSERT_EQ_INT(held_waits(c), HALF + 1);
    for (int i = 0; i < HALF; i++) {
      run_one(rt); /* an early producer finishes: its decrement leaves c above zero */
      ASSERT_EQ_INT(completed(early, HALF), i + 1);
      ASSERT_EQ_INT(REMAINING(c), PTO2__HELD_SHARE - 1 - i);
      ASSERT_EQ_INT(held_waits(c), HALF - i);
    }
    for (int i = 0; i < HALF; i++) {
      pto2_arg_init(&a);
      pto2_task_id ip = pto2_submit_aiv(rt, 0, &a); /* after c: a backward edge */
      late[i] = slot_of(rt, ip);
      ASSERT_EQ_INT(pto2_add_dependency(rt, ip, ic), 0);
      ASSERT_EQ_INT(FANOUT(late[i]), 2); /* its scope and c, registered without the lock */
      ASSERT_TRUE(late[i]->fanout_head && late[i]->fanout_head->consumer == c);
    }
    ASSERT_EQ_INT(c->late_fanin, PTO2_MAX_FANIN);
    ASSERT_EQ_INT(REMAINING(c), PTO2__HELD_SHARE - HALF);
    ASSERT_EQ_INT(held_waits(c), HALF + 1);
  }
  /* Published: c waits for exactly the held-back producers. */
  ASSERT_EQ_INT(REMAINING(c), HALF);
  for (int i = 0; i < HALF; i++) {
    ASSERT_EQ_INT(STATE(c), PTO2__TASK_PENDING);
    run_one(rt);
    ASSERT_EQ_INT(completed(late, HALF), i + 1);
    ASSERT_EQ_INT(REMAINING(c), HALF - 1 - i);
  }
  run_one(rt); /* c */
  ASSERT_EQ_INT(STATE(c), PTO2__TASK_CONSUMED);
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 1; /* no worker threads */
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(rt->executor_count, 1);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, appendix_a, 0, &st), 0);
  ASSERT_EQ_U64(st.tasks, 5);
  ASSERT_EQ_U64(st.edges, 4); /* P->A, W->B, A->B, B->C */
  for (unsigned r = 0; r < PTO2_RING_COUNT; r++) /* everything retired */
    ASSERT_EQ_U64(atomic_load(&rt->rings[r].last_alive), rt->rings[r].next_local);
  ASSERT_EQ_INT(pto2_run(rt, late_edges_at_bound, 0, &st), 0);
  ASSERT_EQ_U64(st.tasks, 2 * (PTO2_MAX_FANIN / 2) + 1);
  ASSERT_EQ_U64(st.edges, PTO2_MAX_FANIN);
  for (unsigned r = 0; r < PTO2_RING_COUNT; r++)
    ASSERT_EQ_U64(atomic_load(&rt->rings[r].last_alive), rt->rings[r].next_local);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_slot_protocol");
}
