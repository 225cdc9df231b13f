/* The TensorMap overlap test (pto2__tmap_overlap), on entries recorded by
 * pto2__tmap_insert and regions from pto2__region_init of real tensors:
 * per-dimension NO_OVERLAP / COVERED / OTHER for 1-D, 2-D and 3-D views
 * (touching edges do not overlap, the same region and a containing region
 * cover, a contained or partial region is OTHER, regions disjoint in one
 * dimension do not overlap even when their byte ranges interleave); a
 * version difference is never COVERED; and, regions of
 * different raw layouts (reshapes, offset reshapes) are compared by byte
 * range: OTHER when the bytes intersect, NO_OVERLAP when they are disjoint,
 * never by comparing dimensions positionally. */
#include <stdint.h>

#include "deps/tensormap.h"
#include "util/alloc.h"
#include "test.h"

static pto2__tensormap map;

static const char *name_of(pto2__overlap o) {
  return o == PTO2__NO_OVERLAP ? "NO_OVERLAP" : o == PTO2__OVERLAP_COVERED ? "COVERED" : "OTHER";
}

/* Records `written` as an entry, classifies an access to `access` against
 * it, and removes the entry again. */
static pto2__overlap classify(const pto2_tensor *written, const pto2_tensor *access) {
  ASSERT_TRUE(pto2_tensor_is_valid(written));
  ASSERT_TRUE(pto2_tensor_is_valid(access));
  void *chain = 0;
  pto2__region gw, ga;
  pto2__region_init(&gw, written);
  pto2__tmap_entry *e = pto2__tmap_insert(&map, &gw, (pto2_task_id){1}, &chain);
  ASSERT_TRUE(e != NULL);
  pto2__region_init(&ga, access);
  pto2__overlap o = pto2__tmap_overlap(e, &ga);
  pto2__tmap_remove(&map, e);
  ASSERT_TRUE(chain == NULL);
  return o;
}

#define EXPECT(written, access, want)                                                    \
  do {                                                                                   \
    pto2__overlap got_ = classify(&(written), &(access));                                \
    if (got_ != (want))                                                                  \
      TEST_FAIL("overlap(entry %s, access %s) = %s, want %s", #written, #access,         \
                name_of(got_), name_of(want));                                           \
  } while (0)

static pto2_tensor view1(const pto2_tensor *t, uint32_t n, uint32_t off) {
  return pto2_tensor_view(t, &n, &off);
}

static pto2_tensor view3(const pto2_tensor *t, uint32_t s0, uint32_t s1, uint32_t s2, uint32_t o0,
                         uint32_t o1, uint32_t o2) {
  const uint32_t s[3] = {s0, s1, s2}, o[3] = {o0, o1, o2};
  return pto2_tensor_view(t, s, o);
}

static void test_1d(void) {
  static float buf[100];
  const uint32_t s[1] = {100};
  pto2_tensor t = pto2_tensor_external(buf, s, 1, PTO2_FLOAT32);
  pto2_tensor a = view1(&t, 20, 10);          /* [10, 30) */
  pto2_tensor right = view1(&t, 20, 30);      /* [30, 50): touches */
  pto2_tensor left = view1(&t, 10, 0);        /* [0, 10): touches */
  pto2_tensor same = view1(&t, 20, 10);
  pto2_tensor inner = view1(&t, 5, 15);       /* inside a */
  pto2_tensor partial = view1(&t, 20, 20);    /* [20, 40) */
  pto2_tensor one_in = view1(&t, 1, 29);      /* last element of a */
  pto2_tensor far = view1(&t, 10, 80);
  EXPECT(a, right, PTO2__NO_OVERLAP);
  EXPECT(a, left, PTO2__NO_OVERLAP);
  EXPECT(a, far, PTO2__NO_OVERLAP);
  EXPECT(a, same, PTO2__OVERLAP_COVERED);
  EXPECT(a, t, PTO2__OVERLAP_COVERED); /* the whole tensor contains a */
  EXPECT(t, t, PTO2__OVERLAP_COVERED);
  EXPECT(a, inner, PTO2__OVERLAP_OTHER);
  EXPECT(a, partial, PTO2__OVERLAP_OTHER);
  EXPECT(partial, a, PTO2__OVERLAP_OTHER);
  EXPECT(a, one_in, PTO2__OVERLAP_OTHER);
  EXPECT(one_in, a, PTO2__OVERLAP_COVERED);
  EXPECT(t, a, PTO2__OVERLAP_OTHER); /* a does not contain the whole */
}

static void test_2d(void) {
  static float buf[8 * 16];
  const uint32_t s[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, s, 2, PTO2_FLOAT32);
  pto2_tensor rows24 = pto2_tensor_view2(&t, 2, 16, 2, 0);
  pto2_tensor rows46 = pto2_tensor_view2(&t, 2, 16, 4, 0);
  pto2_tensor rows35 = pto2_tensor_view2(&t, 2, 16, 3, 0);
  EXPECT(rows24, rows46, PTO2__NO_OVERLAP);
  EXPECT(rows24, rows35, PTO2__OVERLAP_OTHER);
  EXPECT(rows24, t, PTO2__OVERLAP_COVERED);

  /* Column strips: disjoint in dimension 1 although their byte ranges
   * interleave; decided per dimension. */
  pto2_tensor c0 = pto2_tensor_view2(&t, 8, 4, 0, 0);
  pto2_tensor c4 = pto2_tensor_view2(&t, 8, 4, 0, 4);
  pto2_tensor c2 = pto2_tensor_view2(&t, 8, 4, 0, 2);
  EXPECT(c0, c4, PTO2__NO_OVERLAP);
  EXPECT(c4, c0, PTO2__NO_OVERLAP);
  EXPECT(c0, c2, PTO2__OVERLAP_OTHER);
  /* A tile against a strip. */
  pto2_tensor tile = pto2_tensor_view2(&t, 4, 8, 0, 0);
  pto2_tensor small = pto2_tensor_view2(&t, 2, 2, 1, 1);
  pto2_tensor corner = pto2_tensor_view2(&t, 4, 4, 4, 4); /* touches tile's corner */
  EXPECT(c0, tile, PTO2__OVERLAP_OTHER); /* tile has only 4 of c0's 8 rows */
  EXPECT(tile, c0, PTO2__OVERLAP_OTHER);
  EXPECT(small, tile, PTO2__OVERLAP_COVERED);
  EXPECT(tile, small, PTO2__OVERLAP_OTHER);
  EXPECT(tile, corner, PTO2__NO_OVERLAP);
  EXPECT(small, c4, PTO2__NO_OVERLAP);

  /* A nested view is compared by its absolute offsets. */
  pto2_tensor half = pto2_tensor_view2(&t, 4, 16, 4, 0);
  pto2_tensor nested = pto2_tensor_view2(&half, 4, 4, 0, 4); /* rows 4..7, cols 4..7 */
  pto2_tensor direct = pto2_tensor_view2(&t, 4, 4, 4, 4);
  pto2_tensor upper = pto2_tensor_view2(&t, 4, 4, 0, 4);
  EXPECT(nested, direct, PTO2__OVERLAP_COVERED);
  EXPECT(direct, nested, PTO2__OVERLAP_COVERED);
  EXPECT(nested, upper, PTO2__NO_OVERLAP);
}

static void test_3d(void) {
  static uint16_t buf[4 * 6 * 8];
  const uint32_t s[3] = {4, 6, 8};
  pto2_tensor t = pto2_tensor_external(buf, s, 3, PTO2_BFLOAT16);
  pto2_tensor a = view3(&t, 2, 3, 4, 1, 1, 2);
  pto2_tensor same = view3(&t, 2, 3, 4, 1, 1, 2);
  pto2_tensor off2 = view3(&t, 2, 3, 2, 1, 1, 6);   /* touches a in dim 2 only */
  pto2_tensor off1 = view3(&t, 2, 2, 4, 1, 4, 2);   /* touches a in dim 1 only */
  pto2_tensor off0 = view3(&t, 1, 3, 4, 3, 1, 2);   /* touches a in dim 0 only */
  pto2_tensor part1 = view3(&t, 2, 3, 4, 1, 2, 2);  /* shifted by one in dim 1 */
  pto2_tensor big = view3(&t, 3, 5, 6, 0, 0, 1);    /* contains a */
  pto2_tensor cut = view3(&t, 3, 5, 4, 0, 0, 1);    /* misses a's last column */
  EXPECT(a, same, PTO2__OVERLAP_COVERED);
  EXPECT(a, t, PTO2__OVERLAP_COVERED);
  EXPECT(a, big, PTO2__OVERLAP_COVERED);
  EXPECT(a, off2, PTO2__NO_OVERLAP);
  EXPECT(a, off1, PTO2__NO_OVERLAP);
  EXPECT(a, off0, PTO2__NO_OVERLAP);
  EXPECT(a, part1, PTO2__OVERLAP_OTHER);
  EXPECT(a, cut, PTO2__OVERLAP_OTHER);
  EXPECT(big, a, PTO2__OVERLAP_OTHER);
}

static void test_versions(void) {
  static float buf[8 * 16];
  const uint32_t s[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, s, 2, PTO2_FLOAT32);
  pto2_tensor a = pto2_tensor_view2(&t, 2, 16, 2, 0);
  pto2_tensor a1 = a;
  a1.version = 1;
  pto2_tensor whole1 = t;
  whole1.version = 1;
  pto2_tensor far1 = pto2_tensor_view2(&t, 2, 16, 6, 0);
  far1.version = 1;
  pto2_tensor c0 = pto2_tensor_view2(&t, 8, 4, 0, 0);
  pto2_tensor c4v1 = pto2_tensor_view2(&t, 8, 4, 0, 4);
  c4v1.version = 1;
  EXPECT(a, a1, PTO2__OVERLAP_OTHER);     /* same region, other version */
  EXPECT(a1, a, PTO2__OVERLAP_OTHER);
  EXPECT(a, whole1, PTO2__OVERLAP_OTHER); /* containing, other version */
  EXPECT(a, far1, PTO2__NO_OVERLAP);      /* disjoint bytes */
  /* Across versions only bytes count: interleaved strips are OTHER. */
  EXPECT(c0, c4v1, PTO2__OVERLAP_OTHER);
}

/* Regions of views that do not share a layout. */
static void test_aliases(void) {
  static float buf[8 * 16];
  const uint32_t s[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, s, 2, PTO2_FLOAT32);
  const uint32_t flat_s[1] = {128}, s16x8[2] = {16, 8}, s64[1] = {64}, s4x16[2] = {4, 16};
  pto2_tensor flat = pto2_tensor_reshape(&t, flat_s, 1);
  pto2_tensor t16 = pto2_tensor_reshape(&t, s16x8, 2);

  /* Different rank: the flat alias contains rows 2..3 but is only OTHER. */
  pto2_tensor rows23 = pto2_tensor_view2(&t, 2, 16, 2, 0);
  EXPECT(rows23, flat, PTO2__OVERLAP_OTHER);
  EXPECT(flat, rows23, PTO2__OVERLAP_OTHER);
  pto2_tensor f_in = view1(&flat, 8, 40);  /* elements 40..47: inside rows 2..3 */
  pto2_tensor f_out = view1(&flat, 32, 64); /* elements 64..95: rows 4..5 */
  pto2_tensor f_touch = view1(&flat, 32, 0); /* elements 0..31, ends where rows23 starts */
  EXPECT(rows23, f_in, PTO2__OVERLAP_OTHER);
  EXPECT(rows23, f_out, PTO2__NO_OVERLAP);
  EXPECT(rows23, f_touch, PTO2__NO_OVERLAP);
  /* Bytes intersect but elements do not (a strided strip): conservative. */
  pto2_tensor c0 = pto2_tensor_view2(&t, 8, 4, 0, 0);     /* bytes [0, 7*64+16) */
  pto2_tensor f_gap = view1(&flat, 4, 100);               /* row 6, cols 4..7 */
  EXPECT(c0, f_gap, PTO2__OVERLAP_OTHER);

  /* Same rank, different raw shapes (8x16 vs 16x8).  Positional comparison
   * would get both of these wrong. */
  pto2_tensor row1 = pto2_tensor_view2(&t, 1, 16, 1, 0);    /* elements 16..31 */
  pto2_tensor r16_23 = pto2_tensor_view2(&t16, 2, 8, 2, 0); /* elements 16..31 */
  EXPECT(row1, r16_23, PTO2__OVERLAP_OTHER);               /* positional: NO_OVERLAP */
  pto2_tensor row1_h = pto2_tensor_view2(&t, 1, 8, 1, 0);   /* elements 16..23 */
  pto2_tensor r16_1 = pto2_tensor_view2(&t16, 1, 8, 1, 0);  /* elements 8..15 */
  EXPECT(row1_h, r16_1, PTO2__NO_OVERLAP);                  /* positional: COVERED */

  /* An offset reshape: rows 2..5 as a 4x16 layout of its own, origin at
   * element 32.  Views of it compare per dimension among themselves... */
  pto2_tensor rows25 = pto2_tensor_view2(&t, 4, 16, 2, 0);
  pto2_tensor r = pto2_tensor_reshape(&rows25, s4x16, 2);
  pto2_tensor r01 = pto2_tensor_view2(&r, 2, 16, 0, 0); /* buffer rows 2..3 */
  pto2_tensor r23 = pto2_tensor_view2(&r, 2, 16, 2, 0); /* buffer rows 4..5 */
  pto2_tensor r01b = pto2_tensor_view2(&r, 2, 16, 0, 0);
  EXPECT(r01, r23, PTO2__NO_OVERLAP);
  EXPECT(r01, r01b, PTO2__OVERLAP_COVERED);
  EXPECT(r01, r, PTO2__OVERLAP_COVERED);
  /* ...and against the original layout by bytes, at their true position:
   * r23 is buffer rows 4..5, not rows 2..3. */
  pto2_tensor rows45 = pto2_tensor_view2(&t, 2, 16, 4, 0);
  pto2_tensor rows01 = pto2_tensor_view2(&t, 2, 16, 0, 0);
  pto2_tensor rows67 = pto2_tensor_view2(&t, 2, 16, 6, 0);
  EXPECT(r23, rows45, PTO2__OVERLAP_OTHER); /* same elements, other layout */
  EXPECT(rows45, r23, PTO2__OVERLAP_OTHER);
  EXPECT(r23, rows23, PTO2__NO_OVERLAP);    /* rows 2..3 vs 4..5 */
  EXPECT(r23, rows01, PTO2__NO_OVERLAP);
  EXPECT(r23, rows67, PTO2__NO_OVERLAP);
  EXPECT(r01, rows01, PTO2__NO_OVERLAP);    /* r01 starts at row 2 */
  /* A reshape to the original shape at the original origin is the same
   * layout: compared per dimension again. */
  const uint32_t s8x16[2] = {8, 16};
  pto2_tensor same_layout = pto2_tensor_reshape(&t, s8x16, 2);
  pto2_tensor sl_c4 = pto2_tensor_view2(&same_layout, 8, 4, 0, 4);
  EXPECT(c0, sl_c4, PTO2__NO_OVERLAP);
  /* Rows 4..7 reshaped flat: [256, 512) bytes; rows 2..3 are [128, 256). */
  pto2_tensor rows47 = pto2_tensor_view2(&t, 4, 16, 4, 0);
  pto2_tensor f47 = pto2_tensor_reshape(&rows47, s64, 1);
  pto2_tensor rows34 = pto2_tensor_view2(&t, 2, 16, 3, 0);
  pto2_tensor rows34f = pto2_tensor_reshape(&rows34, (const uint32_t[1]){32}, 1);
  EXPECT(rows23, f47, PTO2__NO_OVERLAP);
  EXPECT(rows23, rows34f, PTO2__OVERLAP_OTHER);
  EXPECT(f47, rows34f, PTO2__OVERLAP_OTHER);
  /* Flat reshapes of different rows: same rank and raw shape, different
   * origins, so offsets 0..31 of each are different elements. */
  pto2_tensor rows01f = pto2_tensor_reshape(&rows01, (const uint32_t[1]){32}, 1);
  pto2_tensor rows12 = pto2_tensor_view2(&t, 2, 16, 1, 0);
  pto2_tensor rows12f = pto2_tensor_reshape(&rows12, (const uint32_t[1]){32}, 1);
  EXPECT(rows01f, rows34f, PTO2__NO_OVERLAP);   /* positional: COVERED */
  EXPECT(rows01f, rows12f, PTO2__OVERLAP_OTHER); /* positional: COVERED */
}

int main(void) {
  ASSERT_EQ_INT(pto2__tmap_init(&map, 64, 8, &pto2__libc_allocator), 0);
  test_1d();
  test_2d();
  test_3d();
  test_versions();
  test_aliases();
  ASSERT_EQ_U64(map.live, 0);
  pto2__tmap_fini(&map);
  TEST_PASS("test_overlap");
}
