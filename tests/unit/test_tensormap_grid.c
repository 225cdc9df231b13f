/* The TensorMap's grid index (T8) against brute force.  Random regions of
 * four allocations (2-D, 3-D with a partial last tile, 1-D, 5-D): tiles of
 * a regular tiling (the grid's), tiles of another shape, tiles off the
 * grid's alignment, arbitrary boxes, whole tensors, single elements, views
 * of a reshape, a later version and views of other dtypes over the same
 * memory (one with the same raw shapes); inserted, removed, superseded (parked, T4), taken over (T7), enough
 * of them that trees are built, torn down and built again, with the grid
 * chosen again when its tiling changes.  After every step, for random
 * accesses:
 *  - the candidates hold each entry once, every entry that
 *    pto2__tmap_overlap() finds among all live entries of the allocation,
 *    with the same classification (the index never drops an entry);
 *  - every entry whose elements share a byte with the access's elements is
 *    among the candidates (checked element by element);
 * and a lookup of one tile among G x G tiles of one allocation meets only
 * that tile, whatever G is (the byte range of a tile meets every tile of
 * its row band). */
#include <stdint.h>
#include <stdlib.h>

#include "deps/tensormap.h"
#include "util/alloc.h"
#include "test.h"

enum { NALLOC = 4, MAX_LIVE = 2048, MAX_BYTES = 64 * 48 * 4 };

static pto2__tensormap map;
static float mem0[64 * 48], mem1[6 * 21 * 12], mem2[2048], mem3[3 * 4 * 2 * 5 * 6];
static pto2_tensor whole[NALLOC];
static uint32_t tile[NALLOC][PTO2_MAX_DIMS]; /* the tiling most writes use */

static pto2__tmap_entry *live[MAX_LIVE];
static pto2_tensor tens[MAX_LIVE];
static unsigned nlive;
static void *chain;
static uint64_t rng = 0x9876543;
static unsigned probes;

static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

/* An aligned tile of shape `shp` of `w`: cell index drawn per dimension. */
static pto2_tensor tile_of(const pto2_tensor *w, const uint32_t *shp) {
  uint32_t off[PTO2_MAX_DIMS] = {0};
  for (unsigned d = 0; d < w->ndims; d++) off[d] = shp[d] * rnd((w->shapes[d] - shp[d]) / shp[d] + 1);
  return pto2_tensor_view(w, shp, off);
}

/* A box of `w` with random offsets and shapes. */
static pto2_tensor box_of(const pto2_tensor *w, uint32_t max_extent) {
  uint32_t off[PTO2_MAX_DIMS] = {0}, shp[PTO2_MAX_DIMS] = {0};
  for (unsigned d = 0; d < w->ndims; d++) {
    off[d] = rnd(w->shapes[d]);
    uint32_t room = w->shapes[d] - off[d];
    shp[d] = 1 + rnd(room < max_extent ? room : max_extent);
  }
  return pto2_tensor_view(w, shp, off);
}

static pto2_tensor region(unsigned a) {
  const pto2_tensor *w = &whole[a];
  uint32_t shp[PTO2_MAX_DIMS] = {0};
  unsigned r = rnd(20);
  if (r < 9) return tile_of(w, tile[a]);
  if (r < 11) { /* a tile of another shape: twice the grid's in one dimension, if it fits */
    unsigned k = rnd(w->ndims);
    for (unsigned d = 0; d < w->ndims; d++) shp[d] = tile[a][d];
    if (2 * shp[k] <= w->shapes[k]) shp[k] *= 2;
    return tile_of(w, shp);
  }
  if (r < 13) { /* the grid's shape, off its alignment where there is room */
    uint32_t off[PTO2_MAX_DIMS] = {0};
    for (unsigned d = 0; d < w->ndims; d++) off[d] = rnd(w->shapes[d] - tile[a][d] + 1);
    return pto2_tensor_view(w, tile[a], off);
  }
  if (r == 13) return box_of(w, 20);
  if (r == 14) return rnd(4) ? box_of(w, 2) : *w;
  if (r == 15) return box_of(w, 1); /* one element */
  if (r == 16) { /* a box of a reshape: rows of 8 elements (every size here is a multiple) */
    uint32_t flat[2] = {(uint32_t)(pto2_tensor_numel(w) / 8), 8};
    pto2_tensor f = pto2_tensor_reshape(w, flat, 2);
    return box_of(&f, 6);
  }
  if (r == 17) { /* a later version of a grid tile */
    pto2_tensor t = tile_of(w, tile[a]);
    t.version = 1;
    return t;
  }
  if (r == 18) { /* the same memory as int8, same rank, innermost dimension 4 x as long */
    uint32_t s[PTO2_MAX_DIMS];
    for (unsigned d = 0; d < w->ndims; d++) s[d] = w->shapes[d];
    s[w->ndims - 1] *= 4;
    pto2_tensor b = pto2_tensor_external(w->addr, s, w->ndims, PTO2_INT8);
    return rnd(2) ? box_of(&b, 16) : tile_of(&b, tile[a]);
  }
  if (w->dtype == PTO2_FLOAT32) { /* float16 over the first half: the raw shapes of w */
    pto2_tensor h = pto2_tensor_external(w->addr, w->shapes, w->ndims, PTO2_FLOAT16);
    return rnd(2) ? box_of(&h, 8) : tile_of(&h, tile[a]);
  }
  return tile_of(w, tile[a]);
}

/* Marks (or tests) the bytes of every element of t, relative to its
 * allocation. */
static bool bytes_of(const pto2_tensor *t, uint8_t *map_bytes, bool test) {
  uint64_t esz = pto2_dtype_size((pto2_dtype)t->dtype), start = (uint64_t)((char *)t->data - (char *)t->addr);
  uint32_t i[PTO2_MAX_DIMS] = {0};
  for (;;) {
    uint64_t at = start;
    for (unsigned d = 0; d < t->ndims; d++) at += (uint64_t)i[d] * pto2_tensor_stride(t, d) * esz;
    for (uint64_t b = 0; b < esz; b++) {
      ASSERT_TRUE(at + b < MAX_BYTES);
      if (test && map_bytes[at + b]) return true;
      if (!test) map_bytes[at + b] = 1;
    }
    unsigned d = t->ndims;
    while (d-- > 0 && ++i[d] == t->shapes[d]) i[d] = 0;
    if (d == UINT32_MAX) return false;
  }
}

static void check(const pto2_tensor *t) {
  pto2__region g;
  pto2__region_init(&g, t);
  static pto2__overlap want[MAX_LIVE];
  static uint8_t touched[MAX_BYTES];
  static bool found[MAX_LIVE];
  unsigned nwant = 0;
  for (unsigned i = 0; i < nlive; i++) {
    want[i] = live[i]->addr == t->addr ? pto2__tmap_overlap(live[i], &g) : PTO2__NO_OVERLAP;
    nwant += want[i] != PTO2__NO_OVERLAP;
    found[i] = false;
  }
  pto2__tmap_alloc *a = pto2__tmap_find_alloc(&map, t->addr);
  int n = a && a->count ? pto2__tmap_candidates(&map, a, &g) : 0;
  ASSERT_TRUE(n >= 0);
  unsigned got = 0;
  for (int k = 0; k < n; k++) {
    pto2__tmap_entry *e = map.hits[k];
    ASSERT_TRUE(e->addr == t->addr);
    unsigned i = 0;
    while (i < nlive && live[i] != e) i++;
    ASSERT_TRUE(i < nlive); /* a live entry, never a parked one */
    ASSERT_TRUE(!found[i]); /* each once */
    found[i] = true;
    pto2__overlap ov = pto2__tmap_overlap(e, &g);
    ASSERT_EQ_INT(ov, want[i]);
    got += ov != PTO2__NO_OVERLAP;
  }
  ASSERT_EQ_U64(got, nwant);
  if (++probes % 4) return;
  /* the elements themselves: every entry sharing a byte is a candidate */
  memset(touched, 0, sizeof touched);
  bytes_of(t, touched, false);
  for (unsigned i = 0; i < nlive; i++)
    if (live[i]->addr == t->addr && !found[i] && bytes_of(&tens[i], touched, true))
      TEST_FAIL("entry %u (%u dims) shares bytes with the access but is no candidate", i,
                (unsigned)tens[i].ndims);
}

static void probe(void) {
  for (int k = 0; k < 3; k++) {
    unsigned a = rnd(NALLOC);
    pto2_tensor t = region(a);
    ASSERT_TRUE(pto2_tensor_is_valid(&t));
    check(&t);
  }
  /* and a tile of the grid of the allocation with most entries */
  pto2_tensor t = tile_of(&whole[0], tile[0]);
  check(&t);
}

static void insert_tensor(const pto2_tensor *t) {
  ASSERT_TRUE(pto2_tensor_is_valid(t) && nlive < MAX_LIVE);
  pto2__region g;
  pto2__region_init(&g, t);
  pto2__tmap_entry *e = pto2__tmap_insert(&map, &g, (pto2_task_id){nlive + 1u}, &chain);
  ASSERT_TRUE(e != NULL);
  tens[nlive] = *t;
  live[nlive++] = e;
}

static unsigned pick_alloc(void) {
  unsigned r = rnd(10);
  return r < 5 ? 0 : r < 7 ? 1 : r < 8 ? 2 : 3;
}

static void remove_at(unsigned i) {
  pto2__tmap_remove(&map, live[i]);
  tens[i] = tens[nlive - 1];
  live[i] = live[--nlive];
}

/* (T4) an INOUT of entry i's own region supersedes it (parked in a tree),
 * then usually inserts the same region (taking the parked node). */
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

static void churn(unsigned steps, unsigned keep_below) {
  for (unsigned s = 0; s < steps; s++) {
    unsigned op = rnd(6);
    if ((op == 0 || nlive >= keep_below) && nlive) remove_at(rnd(nlive));
    else if (op == 1 && nlive) supersede_at(rnd(nlive));
    else if (op == 2 && nlive) { /* (T7) a new writer takes the entry over */
      unsigned i = rnd(nlive);
      pto2__tmap_reuse(&map, live[i], (pto2_task_id){1000u + s}, &chain);
    } else {
      pto2_tensor t = region(pick_alloc());
      insert_tensor(&t);
    }
    if (s % 3 == 0) probe();
  }
}

static void set_tile(unsigned a, const uint32_t *shp) {
  for (unsigned d = 0; d < whole[a].ndims; d++) tile[a][d] = shp[d];
}

/* A lookup of one tile of a G x G tiling of one allocation with all G^2
 * tiles written meets that tile only. */
static void one_tile_lookup(uint32_t grid) {
  enum { T = 4 };
  uint32_t side = grid * T, shp[2] = {side, side}, ts[2] = {T, T};
  float *c = calloc((size_t)side * side, sizeof *c);
  ASSERT_TRUE(c != NULL);
  pto2_tensor w = pto2_tensor_external(c, shp, 2, PTO2_FLOAT32);
  void *ch = NULL;
  for (uint32_t m = 0; m < grid; m++)
    for (uint32_t n = 0; n < grid; n++) {
      uint32_t off[2] = {m * T, n * T};
      pto2_tensor t = pto2_tensor_view(&w, ts, off);
      pto2__region g;
      pto2__region_init(&g, &t);
      ASSERT_TRUE(pto2__tmap_insert(&map, &g, (pto2_task_id){m * grid + n + 1u}, &ch) != NULL);
    }
  for (unsigned k = 0; k < 50; k++) {
    uint32_t off[2] = {rnd(grid) * T, rnd(grid) * T};
    pto2_tensor t = pto2_tensor_view(&w, ts, off);
    pto2__region g;
    pto2__region_init(&g, &t);
    pto2__tmap_alloc *a = pto2__tmap_find_alloc(&map, c);
    ASSERT_TRUE(a != NULL && a->root != NULL);
    ASSERT_EQ_INT(pto2__tmap_candidates(&map, a, &g), 1);
    ASSERT_EQ_U64(map.hits[0]->producer.raw, off[0] / T * grid + off[1] / T + 1u);
  }
  pto2__tmap_free_chain(&map, &ch);
  free(c);
}

int main(void) {
  const uint32_t s0[2] = {64, 48}, s1[3] = {6, 21, 12}, s2[1] = {2048}, s3[5] = {3, 4, 2, 5, 6};
  whole[0] = pto2_tensor_external(mem0, s0, 2, PTO2_FLOAT32);
  whole[1] = pto2_tensor_external(mem1, s1, 3, PTO2_FLOAT16); /* 21 = 4 tiles of 5 and a part */
  whole[2] = pto2_tensor_external(mem2, s2, 1, PTO2_FLOAT32);
  whole[3] = pto2_tensor_external(mem3, s3, 5, PTO2_FLOAT32);
  const uint32_t t0[2] = {8, 8}, t1[3] = {2, 5, 4}, t2[1] = {64}, t3[5] = {1, 2, 2, 5, 3};
  set_tile(0, t0);
  set_tile(1, t1);
  set_tile(2, t2);
  set_tile(3, t3);
  ASSERT_EQ_INT(pto2__tmap_init(&map, 16, 8, &pto2__libc_allocator), 0);

  for (unsigned phase = 0; phase < 3; phase++) {
    churn(2500, 600); /* grows past the tree threshold on every allocation */
    pto2__tmap_alloc *a0 = pto2__tmap_find_alloc(&map, mem0);
    ASSERT_TRUE(a0 && a0->root != NULL && a0->grid.ndims == 2 && a0->grid.nodes > 0);
    /* A new tiling of allocation 0: once no tile of the old one is left in
     * its tree, the grid is chosen again. */
    const uint32_t next[3][2] = {{16, 4}, {4, 16}, {8, 8}};
    for (unsigned i = 0; i < nlive;) { /* the old tiling's tiles, of any layout */
      const pto2_tensor *t = &tens[i];
      if (t->addr == mem0 && t->shapes[0] == tile[0][0] && t->shapes[1] == tile[0][1])
        remove_at(i);
      else
        i++;
    }
    set_tile(0, next[phase]);
    probe();
    for (unsigned k = 0; k < 64; k++) {
      pto2_tensor t = tile_of(&whole[0], tile[0]);
      insert_tensor(&t);
      probe();
    }
    a0 = pto2__tmap_find_alloc(&map, mem0);
    ASSERT_TRUE(a0 && a0->root != NULL);
    ASSERT_TRUE(a0->grid.tile[0] == tile[0][0] && a0->grid.tile[1] == tile[0][1]);
    churn(1000, 600);
    /* Shrink to nothing, through the trees' teardown. */
    while (nlive) {
      if (rnd(2)) remove_at(rnd(nlive));
      else supersede_at(rnd(nlive));
      if (nlive % 5 == 0) probe();
    }
    for (unsigned a = 0; a < NALLOC; a++) {
      pto2__tmap_alloc *r = pto2__tmap_find_alloc(&map, whole[a].addr);
      ASSERT_TRUE(!r || (r->count == 0 && r->root == NULL && r->grid.ndims == 0));
    }
  }
  ASSERT_TRUE(chain == NULL);
  ASSERT_EQ_U64(map.live, 0);

  one_tile_lookup(16);
  one_tile_lookup(64);
  ASSERT_EQ_U64(map.live, 0);
  pto2__tmap_fini(&map);
  TEST_PASS("test_tensormap_grid");
}
