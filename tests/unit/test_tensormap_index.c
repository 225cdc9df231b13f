/* The TensorMap's per-allocation index against a brute-force model: random
 * inserts and removals of regions of two allocations (single rows, row
 * bands, 2D tiles, whole tensors, views of a reshape and a later version),
 * enough of them on one allocation that its interval tree is built, torn
 * down below a quarter of the threshold and built again.  After every step
 * the overlapping entries found through pto2__tmap_candidates() are
 * exactly those that pto2__tmap_overlap() finds among all live entries of
 * the allocation, with the same classification: the index never drops an
 * entry (lookups are never truncated), at any size, including results
 * larger than the initial result buffer, and with superseded entries
 * parked in the tree (T4) and taken over by the next insert of the same
 * region.  Records of allocations without
 * entries are swept once more than PTO2__TMAP_EMPTY_SWEEP are left. */
#include <stdint.h>
#include <stdlib.h>

#include "deps/tensormap.h"
#include "util/alloc.h"
#include "test.h"

enum { ROWS = 256, COLS = 16, MAX_LIVE = 4096 };

static pto2__tensormap map;
static float buf[2][ROWS * COLS];
static pto2_tensor whole[2], reshaped[2];

static pto2__tmap_entry *live[MAX_LIVE];
static pto2_tensor tens[MAX_LIVE]; /* the region of live[i] */
static unsigned nlive;
static void *chain;
static uint64_t rng = 0x1234567;

static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

/* A random region of allocation `a`. */
static pto2_tensor region(unsigned a) {
  switch (rnd(8)) {
  case 0: return whole[a];
  case 1: { /* a band of rows */
    uint32_t r0 = rnd(ROWS), n = 1 + rnd(ROWS - r0 < 24 ? ROWS - r0 : 24);
    return pto2_tensor_view2(&whole[a], n, COLS, r0, 0);
  }
  case 2: { /* a 2D tile */
    uint32_t r0 = rnd(ROWS - 8), c0 = rnd(COLS - 4);
    return pto2_tensor_view2(&whole[a], 1 + rnd(8), 1 + rnd(4), r0, c0);
  }
  case 3: { /* a piece of the reshaped [ROWS*COLS/64, 64] layout */
    uint32_t r0 = rnd(ROWS * COLS / 64 - 2);
    return pto2_tensor_view2(&reshaped[a], 1 + rnd(2), 1 + rnd(64), r0, 0);
  }
  case 4: { /* a later version of a row */
    pto2_tensor t = pto2_tensor_view2(&whole[a], 1, COLS, rnd(ROWS), 0);
    t.version = 1;
    return t;
  }
  default: /* one row: most entries, so the tree grows large */
    return pto2_tensor_view2(&whole[a], 1, COLS, rnd(ROWS), 0);
  }
}

static void check(const pto2_tensor *t) {
  pto2__region g;
  pto2__region_init(&g, t);
  /* brute force: overlap classification of every live entry */
  static pto2__overlap want[MAX_LIVE];
  unsigned nwant = 0;
  for (unsigned i = 0; i < nlive; i++) {
    want[i] = live[i]->addr == t->addr ? pto2__tmap_overlap(live[i], &g) : PTO2__NO_OVERLAP;
    nwant += want[i] != PTO2__NO_OVERLAP;
  }
  pto2__tmap_alloc *a = pto2__tmap_find_alloc(&map, t->addr);
  int n = a ? pto2__tmap_candidates(&map, a, &g) : 0;
  ASSERT_TRUE(n >= 0);
  unsigned got = 0;
  for (int k = 0; k < n; k++) {
    pto2__tmap_entry *e = map.hits[k];
    ASSERT_TRUE(e->addr == t->addr);
    for (int j = 0; j < k; j++) ASSERT_TRUE(map.hits[j] != e); /* each entry once */
    pto2__overlap ov = pto2__tmap_overlap(e, &g);
    if (ov == PTO2__NO_OVERLAP) continue;
    unsigned i = 0;
    while (i < nlive && live[i] != e) i++;
    ASSERT_TRUE(i < nlive); /* a live entry */
    ASSERT_EQ_INT(ov, want[i]);
    got++;
  }
  ASSERT_EQ_U64(got, nwant);
}

static void probe(void);

static bool no_entries(const void *addr) {
  pto2__tmap_alloc *a = pto2__tmap_find_alloc(&map, addr);
  return !a || (a->count == 0 && a->entries == NULL && a->root == NULL);
}

static void insert_tensor(const pto2_tensor *t) {
  ASSERT_TRUE(pto2_tensor_is_valid(t));
  pto2__region g;
  pto2__region_init(&g, t);
  pto2__tmap_entry *e = pto2__tmap_insert(&map, &g, (pto2_task_id){nlive + 1u}, &chain);
  ASSERT_TRUE(e != NULL);
  tens[nlive] = *t;
  live[nlive++] = e;
}

static void insert(unsigned a) {
  pto2_tensor t = region(a);
  insert_tensor(&t);
}

static void remove_at(unsigned i) {
  pto2__tmap_remove(&map, live[i]);
  tens[i] = tens[nlive - 1];
  live[i] = live[--nlive];
}

/* (T4) as an INOUT does it: supersede entry i by an access to its own
 * region (parked in the tree, if there is one), and often re-insert that
 * region at once (taking the parked entry's place). */
static void supersede_at(unsigned i) {
  pto2_tensor t = tens[i];
  pto2__region g;
  pto2__region_init(&g, &t);
  pto2__tmap_supersede(&map, live[i], &g);
  tens[i] = tens[nlive - 1];
  live[i] = live[--nlive];
  probe();
  if (rnd(4)) insert_tensor(&t);
}

static void probe(void) {
  for (int k = 0; k < 3; k++) {
    pto2_tensor t = region(rnd(2));
    check(&t);
  }
}

int main(void) {
  const uint32_t shp[2] = {ROWS, COLS}, flat[2] = {ROWS * COLS / 64, 64};
  for (unsigned a = 0; a < 2; a++) {
    whole[a] = pto2_tensor_external(buf[a], shp, 2, PTO2_FLOAT32);
    reshaped[a] = pto2_tensor_reshape(&whole[a], flat, 2);
  }
  ASSERT_EQ_INT(pto2__tmap_init(&map, 16, 8, &pto2__libc_allocator), 0);

  /* Grow allocation 0 far past the tree threshold, a few entries on 1. */
  for (unsigned i = 0; i < 1500; i++) {
    insert(rnd(10) ? 0 : 1);
    if (i % 7 == 0) probe();
  }
  pto2__tmap_alloc *a0 = pto2__tmap_find_alloc(&map, buf[0]);
  ASSERT_TRUE(a0 && a0->root != NULL && a0->count > PTO2__TMAP_TREE_MIN);
  /* Churn: removals and inserts mixed. */
  for (unsigned i = 0; i < 3000; i++) {
    unsigned op = rnd(4);
    if (op == 0 && nlive) remove_at(rnd(nlive));
    else if (op == 1 && nlive) supersede_at(rnd(nlive));
    else if (op == 2 && nlive) { /* the same region written again and again */
      unsigned k = rnd(nlive);
      for (int r = 0; r < 3; r++) supersede_at(k < nlive ? k : nlive - 1);
    } else insert(rnd(3) ? 0 : 1);
    if (i % 5 == 0) probe();
  }
  /* Whole-tensor lookups return more than the initial result buffer holds. */
  check(&whole[0]);
  check(&whole[1]);
  /* Shrink to nothing, through the tree's teardown, then grow again. */
  while (nlive) {
    if (rnd(2)) remove_at(rnd(nlive));
    else {
      pto2_tensor t = tens[0];
      pto2__region g;
      pto2__region_init(&g, &t);
      pto2__tmap_supersede(&map, live[0], &g);
      tens[0] = tens[nlive - 1];
      live[0] = live[--nlive];
    }
    if (nlive % 3 == 0) probe();
  }
  ASSERT_TRUE(no_entries(buf[0]) && no_entries(buf[1]));
  ASSERT_TRUE(chain == NULL);
  ASSERT_EQ_U64(map.live, 0);
  for (unsigned i = 0; i < 200; i++) {
    insert(0);
    probe();
  }
  pto2__tmap_free_chain(&map, &chain);
  nlive = 0;

  /* Records without entries stay linked until more than
   * PTO2__TMAP_EMPTY_SWEEP of them are, then all are freed: one entry on
   * each of 3000 allocations (single floats of one array), removed again. */
  static float many[3000];
  static pto2__tmap_entry *one[3000];
  const uint32_t one_shape[1] = {1};
  for (int round = 0; round < 2; round++) {
    uint32_t before_inserts = map.empty_count; /* A's and B's records, possibly */
    for (unsigned i = 0; i < 3000; i++) {
      pto2_tensor t = pto2_tensor_external(&many[i], one_shape, 1, PTO2_FLOAT32);
      pto2__region g;
      pto2__region_init(&g, &t);
      one[i] = pto2__tmap_insert(&map, &g, (pto2_task_id){i + 1u}, &chain);
      ASSERT_TRUE(one[i] != NULL);
    }
    ASSERT_TRUE(map.empty_count <= before_inserts);
    for (unsigned i = 0; i < 3000; i++) {
      pto2__tmap_remove(&map, one[i]);
      ASSERT_TRUE(map.empty_count <= PTO2__TMAP_EMPTY_SWEEP);
    }
    unsigned linked = 0;
    for (uint32_t b = 0; b < map.bucket_count; b++)
      for (pto2__tmap_alloc *a = map.buckets[b]; a; a = a->bucket_next) {
        ASSERT_EQ_U64(a->count, 0);
        linked++;
      }
    ASSERT_EQ_U64(linked, map.empty_count);
    ASSERT_TRUE(no_entries(&many[0]) && no_entries(&many[2999]));
  }
  ASSERT_TRUE(chain == NULL);
  ASSERT_EQ_U64(map.live, 0);
  ASSERT_TRUE(no_entries(buf[0]) && no_entries(buf[1]));
  pto2__tmap_fini(&map);
  TEST_PASS("test_tensormap_index");
}
