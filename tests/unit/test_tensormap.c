/* The TensorMap's storage: a map started with a 4-entry pool grows as 40+
 * entries are inserted on one allocation, every entry stays intact and
 * findable, and a lookup of the allocation's candidates (as the submit path
 * does it) returns every overlapping entry, with no limit at 16.  Remove
 * unlinks from both the allocation's list and the task chain and recycles
 * the entry.  pto2__tmap_free_chain frees exactly the entries of one chain
 * and leaves entries of another chain, interleaved with them in the same
 * allocation, findable.  pto2__tmap_reuse (T7) hands a live entry to
 * another writer and chain in place.  pto2__tmap_clear empties
 * every bucket; the map is usable (and grows) again afterwards.  live and
 * high_water count entries. */
#include <stdint.h>

#include "deps/tensormap.h"
#include "util/alloc.h"
#include "test.h"

enum { ROWS = 64, COLS = 8, MAX_FOUND = 256 };

static pto2__tensormap map;
static float buf_a[ROWS * COLS], buf_b[ROWS * COLS];
static pto2_tensor ta, tb;

typedef struct found {
  unsigned n;
  uint64_t producer[MAX_FOUND];
  pto2__overlap ov[MAX_FOUND];
} found;

/* Every entry of `t`'s allocation that overlaps `t`, newest (highest
 * producer, as the tests number them) first. */
static void walk(const pto2_tensor *t, found *f) {
  pto2__region g;
  pto2__region_init(&g, t);
  f->n = 0;
  pto2__tmap_alloc *a = pto2__tmap_find_alloc(&map, t->addr);
  int n = a ? pto2__tmap_candidates(&map, a, &g) : 0;
  ASSERT_TRUE(n >= 0);
  for (int i = 0; i < n; i++) {
    pto2__tmap_entry *e = map.hits[i];
    ASSERT_TRUE(e->addr == t->addr);
    pto2__overlap ov = pto2__tmap_overlap(e, &g);
    if (ov == PTO2__NO_OVERLAP) continue;
    ASSERT_TRUE(f->n < MAX_FOUND);
    unsigned j = f->n++;
    for (; j > 0 && f->producer[j - 1] < e->producer.raw; j--) {
      f->producer[j] = f->producer[j - 1];
      f->ov[j] = f->ov[j - 1];
    }
    f->producer[j] = e->producer.raw;
    f->ov[j] = ov;
  }
}

/* No allocation has entries; records without entries may stay linked. */
static void assert_no_records(void) {
  unsigned linked = 0;
  for (uint32_t i = 0; i < map.bucket_count; i++)
    for (pto2__tmap_alloc *a = map.buckets[i]; a; a = a->bucket_next) {
      ASSERT_EQ_U64(a->count, 0);
      ASSERT_TRUE(a->entries == NULL && a->root == NULL);
      linked++;
    }
  ASSERT_TRUE(linked == map.empty_count && linked <= PTO2__TMAP_EMPTY_SWEEP);
}

static unsigned chain_length(void *chain) {
  unsigned n = 0;
  for (pto2__tmap_entry *e = chain; e; e = e->chain_next) {
    ASSERT_TRUE(*e->chain_pprev == e); /* back links are consistent */
    ASSERT_TRUE(++n <= 1000);          /* no cycle */
  }
  return n;
}

static bool has_producer(const found *f, uint64_t p) {
  for (unsigned i = 0; i < f->n; i++)
    if (f->producer[i] == p) return true;
  return false;
}

static pto2__tmap_entry *insert_rows(const pto2_tensor *t, uint32_t row, uint32_t rows,
                                     uint64_t producer, void **chain) {
  pto2_tensor v = pto2_tensor_view2(t, rows, COLS, row, 0);
  ASSERT_TRUE(pto2_tensor_is_valid(&v));
  pto2__region g;
  pto2__region_init(&g, &v);
  pto2__tmap_entry *e = pto2__tmap_insert(&map, &g, (pto2_task_id){producer}, chain);
  ASSERT_TRUE(e != NULL);
  return e;
}

int main(void) {
  const uint32_t shp[2] = {ROWS, COLS};
  ta = pto2_tensor_external(buf_a, shp, 2, PTO2_FLOAT32);
  tb = pto2_tensor_external(buf_b, shp, 2, PTO2_FLOAT32);
  ASSERT_EQ_INT(pto2__tmap_init(&map, 16, 4, &pto2__libc_allocator), 0);
  ASSERT_EQ_U64(map.live, 0);

  /* 40 single-row writers of A (producer i+1 wrote row i), alternating
   * between two task chains; 5 writers of B on a third chain. */
  enum { N = 40 };
  void *chain_even = 0, *chain_odd = 0, *chain_b = 0;
  pto2__tmap_entry *e[N];
  for (uint32_t i = 0; i < N; i++) {
    e[i] = insert_rows(&ta, i, 1, i + 1, (i & 1) ? &chain_odd : &chain_even);
    ASSERT_EQ_U64(map.live, i + 1);
    ASSERT_EQ_U64(map.high_water, i + 1);
  }
  for (uint32_t i = 0; i < 5; i++) insert_rows(&tb, 8 * i, 8, 1000 + i, &chain_b);
  ASSERT_EQ_U64(map.live, N + 5);
  ASSERT_EQ_U64(map.high_water, N + 5);

  /* Growth kept every entry intact and distinct. */
  for (uint32_t i = 0; i < N; i++) {
    ASSERT_EQ_U64(e[i]->producer.raw, i + 1);
    ASSERT_EQ_U64(e[i]->offsets[0], i);
    ASSERT_EQ_U64(e[i]->shapes[0], 1);
    ASSERT_TRUE(e[i]->addr == (void *)buf_a);
    for (uint32_t j = 0; j < i; j++) ASSERT_TRUE(e[i] != e[j]);
  }
  ASSERT_EQ_U64(chain_length(chain_even), 20);
  ASSERT_EQ_U64(chain_length(chain_odd), 20);
  ASSERT_EQ_U64(chain_length(chain_b), 5);

  /* The whole of A overlaps all 40, newest first, each COVERED. */
  found f;
  walk(&ta, &f);
  ASSERT_EQ_U64(f.n, N);
  for (unsigned i = 0; i < N; i++) {
    ASSERT_EQ_U64(f.producer[i], N - i);
    ASSERT_EQ_U64(f.ov[i], PTO2__OVERLAP_COVERED);
  }
  /* 20 rows: 20 writers (more than 16). */
  pto2_tensor mid = pto2_tensor_view2(&ta, 20, COLS, 10, 0);
  walk(&mid, &f);
  ASSERT_EQ_U64(f.n, 20);
  for (unsigned i = 0; i < 20; i++) ASSERT_EQ_U64(f.producer[i], 30 - i);
  /* One row: its writer only; half a row: OTHER. */
  pto2_tensor row5 = pto2_tensor_view2(&ta, 1, COLS, 5, 0);
  walk(&row5, &f);
  ASSERT_EQ_U64(f.n, 1);
  ASSERT_EQ_U64(f.producer[0], 6);
  ASSERT_EQ_U64(f.ov[0], PTO2__OVERLAP_COVERED);
  pto2_tensor half5 = pto2_tensor_view2(&ta, 1, COLS / 2, 5, 0);
  walk(&half5, &f);
  ASSERT_EQ_U64(f.n, 1);
  ASSERT_EQ_U64(f.ov[0], PTO2__OVERLAP_OTHER);
  /* Rows nobody wrote. */
  pto2_tensor tail = pto2_tensor_view2(&ta, ROWS - N, COLS, N, 0);
  walk(&tail, &f);
  ASSERT_EQ_U64(f.n, 0);
  /* B's writers are B's alone. */
  walk(&tb, &f);
  ASSERT_EQ_U64(f.n, 5);
  for (unsigned i = 0; i < 5; i++) ASSERT_EQ_U64(f.producer[i], 1004 - i);

  /* Remove: a middle entry, a chain head (newest even = row 38) and the
   * oldest entry of the bucket (row 0, a chain's last element). */
  ASSERT_TRUE(chain_even == (void *)e[38]);
  pto2__tmap_remove(&map, e[5]);
  pto2__tmap_remove(&map, e[38]);
  pto2__tmap_remove(&map, e[0]);
  ASSERT_EQ_U64(map.live, N + 5 - 3);
  ASSERT_EQ_U64(map.high_water, N + 5);
  ASSERT_TRUE(chain_even == (void *)e[36]);
  ASSERT_EQ_U64(chain_length(chain_even), 18);
  ASSERT_EQ_U64(chain_length(chain_odd), 19);
  walk(&row5, &f);
  ASSERT_EQ_U64(f.n, 0);
  walk(&ta, &f);
  ASSERT_EQ_U64(f.n, N - 3);
  ASSERT_TRUE(!has_producer(&f, 6) && !has_producer(&f, 39) && !has_producer(&f, 1));
  /* A removed entry is recycled before the pool grows. */
  pto2__tmap_entry *again = insert_rows(&ta, 5, 1, 100, &chain_odd);
  ASSERT_TRUE(again == e[0] || again == e[5] || again == e[38]);
  walk(&row5, &f);
  ASSERT_EQ_U64(f.n, 1);
  ASSERT_EQ_U64(f.producer[0], 100);
  ASSERT_EQ_U64(map.live, N + 5 - 2);

  /* Freeing the odd chain frees exactly its entries (19
   * odd rows + the re-inserted row 5); the even chain's entries, which sit
   * between them in the same bucket, and B's are untouched. */
  pto2__tmap_free_chain(&map, &chain_odd);
  ASSERT_TRUE(chain_odd == NULL);
  ASSERT_EQ_U64(map.live, 18 + 5);
  walk(&ta, &f);
  ASSERT_EQ_U64(f.n, 18);
  for (unsigned i = 0; i < f.n; i++) {
    ASSERT_EQ_U64((f.producer[i] - 1) % 2, 0); /* even rows only */
    ASSERT_TRUE(f.producer[i] != 1 && f.producer[i] != 39);
  }
  for (uint32_t i = 2; i < 38; i += 2) {
    pto2_tensor row = pto2_tensor_view2(&ta, 1, COLS, i, 0);
    walk(&row, &f);
    ASSERT_EQ_U64(f.n, 1);
    ASSERT_EQ_U64(f.producer[0], i + 1);
  }
  walk(&tb, &f);
  ASSERT_EQ_U64(f.n, 5);
  ASSERT_EQ_U64(chain_length(chain_even), 18);
  ASSERT_EQ_U64(chain_length(chain_b), 5);
  /* Freeing an empty chain does nothing. */
  pto2__tmap_free_chain(&map, &chain_odd);
  ASSERT_EQ_U64(map.live, 23);

  /* (T7) Reuse: B's oldest entry (rows 0..7, producer 1000, last in B's
   * list) matches exactly the region it was inserted with, not a part or a
   * superset of it; taken over by producer 1100 on another chain it moves
   * to the front of B's list and of that chain, as a removal and insert
   * would leave it, and the map's entry count does not change. */
  {
    pto2_tensor rows0 = pto2_tensor_view2(&tb, 8, COLS, 0, 0);
    pto2_tensor part = pto2_tensor_view2(&tb, 4, COLS, 0, 0);
    pto2__region g;
    pto2__tmap_alloc *al = pto2__tmap_find_alloc(&map, tb.addr);
    pto2__tmap_entry *old = al->entries;
    while (old->next) old = old->next;
    ASSERT_EQ_U64(old->producer.raw, 1000);
    pto2__region_init(&g, &rows0);
    ASSERT_TRUE(pto2__tmap_same_region(old, &g));
    pto2__region_init(&g, &part);
    ASSERT_TRUE(!pto2__tmap_same_region(old, &g));
    pto2__region_init(&g, &tb);
    ASSERT_TRUE(!pto2__tmap_same_region(old, &g));
    uint64_t live = map.live;
    void *chain_r = 0;
    pto2__tmap_reuse(&map, old, (pto2_task_id){1100}, &chain_r);
    ASSERT_EQ_U64(map.live, live);
    ASSERT_TRUE(al->entries == old && old->pprev == &al->entries);
    ASSERT_TRUE(chain_r == old);
    ASSERT_EQ_U64(chain_length(chain_r), 1);
    ASSERT_EQ_U64(chain_length(chain_b), 4);
    walk(&rows0, &f);
    ASSERT_EQ_U64(f.n, 1);
    ASSERT_EQ_U64(f.producer[0], 1100);
    walk(&tb, &f);
    ASSERT_EQ_U64(f.n, 5);
    ASSERT_TRUE(has_producer(&f, 1100) && !has_producer(&f, 1000));
    /* Reused again at the front of its list and chain: nothing moves. */
    pto2__tmap_reuse(&map, old, (pto2_task_id){1000}, &chain_r);
    ASSERT_TRUE(al->entries == old && chain_r == old);
    /* Back to chain_b, where the next steps expect it. */
    pto2__tmap_reuse(&map, old, (pto2_task_id){1000}, &chain_b);
    ASSERT_TRUE(chain_r == NULL);
    ASSERT_EQ_U64(chain_length(chain_b), 5);
    ASSERT_EQ_U64(map.live, live);
  }

  /* Free the rest chain by chain: nothing is left anywhere. */
  pto2__tmap_free_chain(&map, &chain_b);
  walk(&tb, &f);
  ASSERT_EQ_U64(f.n, 0);
  pto2__tmap_free_chain(&map, &chain_even);
  ASSERT_EQ_U64(map.live, 0);
  assert_no_records();

  /* Clear: refill past the initial pool, then drop everything at once. */
  void *chain_c = 0;
  for (uint32_t i = 0; i < 50; i++) insert_rows((i & 1) ? &tb : &ta, i, 1, 2000 + i, &chain_c);
  ASSERT_EQ_U64(map.live, 50);
  ASSERT_EQ_U64(map.high_water, 50);
  pto2__tmap_clear(&map);
  chain_c = 0; /* the caller clears the chain heads it holds */
  ASSERT_EQ_U64(map.live, 0);
  assert_no_records();
  walk(&ta, &f);
  ASSERT_EQ_U64(f.n, 0);
  /* Usable again, growing past the pool kept by clear. */
  for (uint32_t i = 0; i < ROWS; i++) insert_rows(&ta, i, 1, 3000 + i, &chain_c);
  ASSERT_EQ_U64(map.live, ROWS);
  walk(&ta, &f);
  ASSERT_EQ_U64(f.n, ROWS);
  for (unsigned i = 0; i < ROWS; i++) ASSERT_EQ_U64(f.producer[i], 3000 + ROWS - 1 - i);
  ASSERT_EQ_U64(chain_length(chain_c), ROWS);
  pto2__tmap_free_chain(&map, &chain_c);
  ASSERT_EQ_U64(map.live, 0);

  pto2__tmap_fini(&map);
  TEST_PASS("test_tensormap");
}
