/* Tensor construction and the plain-data helpers of the public API:
 * external tensors, views (offsets accumulate across nested views, data
 * points at the view origin, manual_dep is not inherited, owner and version
 * are, out-of-bounds and zero-extent views are invalid), reshape (contiguity
 * and element-count checks; a reshape of an offset row view keeps its data
 * pointer), numel, create-infos, dtype sizes and names,
 * bf16/fp16 round-to-nearest-even conversions against an independent
 * reference (ties, subnormals, overflow, inf, NaN), scalar packing, the
 * argument builder's limits and messages, and the error-code tables. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "deps/tensor.h"
#include "pto2/pto2.h"
#include "test.h"

static float f32(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static uint32_t bits32(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static uint64_t byte_off(const pto2_tensor *t) {
  return (uint64_t)((const char *)t->data - (const char *)t->addr);
}

static void assert_invalid(const pto2_tensor *t) {
  ASSERT_EQ_U64(t->ndims, 0);
  ASSERT_TRUE(!pto2_tensor_is_valid(t));
  ASSERT_EQ_U64(pto2_tensor_numel(t), 0);
}

/* ------------------------------------------------------------------------ */

static void test_external(void) {
  static float buf[8 * 16];
  const uint32_t shp[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, shp, 2, PTO2_FLOAT32);
  ASSERT_TRUE(pto2_tensor_is_valid(&t));
  ASSERT_TRUE(t.addr == (void *)buf);
  ASSERT_TRUE(t.data == (void *)buf);
  ASSERT_EQ_U64(t.nbytes, sizeof buf);
  ASSERT_EQ_U64(t.ndims, 2);
  ASSERT_EQ_U64(t.dtype, PTO2_FLOAT32);
  ASSERT_TRUE(!pto2_task_id_is_valid(t.owner)); /* external: no creator */
  ASSERT_EQ_INT(t.version, 0);
  ASSERT_TRUE(!t.manual_dep);
  for (unsigned d = 0; d < 2; d++) {
    ASSERT_EQ_U64(t.shapes[d], shp[d]);
    ASSERT_EQ_U64(t.raw_shapes[d], shp[d]);
    ASSERT_EQ_U64(t.offsets[d], 0);
  }
  ASSERT_EQ_U64(pto2_tensor_numel(&t), 128);
  ASSERT_EQ_U64(pto2_tensor_stride(&t, 0), 16);
  ASSERT_EQ_U64(pto2_tensor_stride(&t, 1), 1);

  /* nbytes follows the dtype size. */
  uint16_t h[40];
  const uint32_t s1[1] = {40};
  pto2_tensor th = pto2_tensor_external(h, s1, 1, PTO2_BFLOAT16);
  ASSERT_EQ_U64(th.nbytes, 80);

  /* Every malformed input yields an invalid tensor. */
  const uint32_t bad0[2] = {8, 0};
  const uint32_t six[6] = {1, 1, 1, 1, 1, 1};
  pto2_tensor x;
  x = pto2_tensor_external(NULL, shp, 2, PTO2_FLOAT32);
  assert_invalid(&x);
  x = pto2_tensor_external(buf, NULL, 2, PTO2_FLOAT32);
  assert_invalid(&x);
  x = pto2_tensor_external(buf, shp, 0, PTO2_FLOAT32);
  assert_invalid(&x);
  x = pto2_tensor_external(buf, six, PTO2_MAX_DIMS + 1, PTO2_FLOAT32);
  assert_invalid(&x);
  x = pto2_tensor_external(buf, shp, 2, PTO2_DTYPE_COUNT);
  assert_invalid(&x);
  x = pto2_tensor_external(buf, bad0, 2, PTO2_FLOAT32);
  assert_invalid(&x);
  /* The maximal rank is accepted. */
  x = pto2_tensor_external(buf, six, PTO2_MAX_DIMS, PTO2_FLOAT32);
  ASSERT_TRUE(pto2_tensor_is_valid(&x));

  /* A zeroed struct is not a tensor. */
  pto2_tensor z;
  memset(&z, 0, sizeof z);
  ASSERT_TRUE(!pto2_tensor_is_valid(&z));
  ASSERT_TRUE(!pto2_tensor_is_valid(NULL));
}

static void test_view(void) {
  static float buf[8 * 16];
  const uint32_t shp[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, shp, 2, PTO2_FLOAT32);
  t.owner = (pto2_task_id){42};
  t.version = 3;
  t.manual_dep = true;

  const uint32_t s1[2] = {4, 8}, o1[2] = {2, 4};
  pto2_tensor v1 = pto2_tensor_view(&t, s1, o1);
  ASSERT_TRUE(pto2_tensor_is_valid(&v1));
  ASSERT_EQ_U64(v1.offsets[0], 2);
  ASSERT_EQ_U64(v1.offsets[1], 4);
  ASSERT_EQ_U64(v1.shapes[0], 4);
  ASSERT_EQ_U64(v1.shapes[1], 8);
  ASSERT_EQ_U64(v1.raw_shapes[0], 8); /* the layout is the parent's */
  ASSERT_EQ_U64(v1.raw_shapes[1], 16);
  ASSERT_TRUE(v1.data == (void *)&buf[2 * 16 + 4]);
  ASSERT_TRUE(v1.addr == (void *)buf);
  ASSERT_EQ_U64(v1.nbytes, sizeof buf);
  ASSERT_EQ_U64(v1.owner.raw, 42);
  ASSERT_EQ_INT(v1.version, 3);
  ASSERT_TRUE(!v1.manual_dep);
  ASSERT_EQ_U64(pto2_tensor_numel(&v1), 32);
  ASSERT_EQ_U64(pto2__tensor_start(&v1), 2 * 16 + 4);

  /* Nested: offsets are relative to the parent view and accumulate. */
  v1.manual_dep = true;
  const uint32_t s2[2] = {2, 4}, o2[2] = {1, 2};
  pto2_tensor v2 = pto2_tensor_view(&v1, s2, o2);
  ASSERT_TRUE(pto2_tensor_is_valid(&v2));
  ASSERT_EQ_U64(v2.offsets[0], 3);
  ASSERT_EQ_U64(v2.offsets[1], 6);
  ASSERT_TRUE(v2.data == (void *)&buf[3 * 16 + 6]);
  ASSERT_EQ_U64(byte_off(&v2), (3 * 16 + 6) * sizeof(float));
  ASSERT_TRUE(!v2.manual_dep);
  ASSERT_EQ_U64(v2.owner.raw, 42);
  ASSERT_EQ_INT(v2.version, 3);

  /* Third level, exactly at the far corner of v2. */
  const uint32_t s3[2] = {1, 1}, o3[2] = {1, 3};
  pto2_tensor v3 = pto2_tensor_view(&v2, s3, o3);
  ASSERT_TRUE(pto2_tensor_is_valid(&v3));
  ASSERT_TRUE(v3.data == (void *)&buf[4 * 16 + 9]);

  /* A view that fits exactly at the end of its parent is valid... */
  const uint32_t se[2] = {2, 3}, oe[2] = {2, 5};
  pto2_tensor ok = pto2_tensor_view(&v1, se, oe);
  ASSERT_TRUE(pto2_tensor_is_valid(&ok));
  ASSERT_TRUE(ok.data == (void *)&buf[4 * 16 + 9]);

  /* ...one element more is not, in either dimension, even though it still
   * lies inside the allocation (bounds are the parent view's). */
  pto2_tensor x;
  const uint32_t so0[2] = {3, 3}, so1[2] = {2, 4};
  x = pto2_tensor_view(&v1, so0, oe);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, so1, oe);
  assert_invalid(&x);
  /* Offset past the extent, offset at the extent (nothing left), huge
   * offsets that would wrap a 32-bit sum. */
  const uint32_t one[2] = {1, 1}, past[2] = {5, 0}, at[2] = {4, 0};
  const uint32_t huge[2] = {0, UINT32_MAX}, bigshape[2] = {1, UINT32_MAX};
  const uint32_t zero_o[2] = {0, 0}, one_o[2] = {0, 1};
  x = pto2_tensor_view(&v1, one, past);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, one, at);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, one, huge);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, bigshape, one_o);
  assert_invalid(&x);
  /* Zero extents. */
  const uint32_t z0[2] = {0, 1}, z1[2] = {1, 0};
  x = pto2_tensor_view(&v1, z0, zero_o);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, z1, zero_o);
  assert_invalid(&x);
  /* NULL arrays and an invalid parent. */
  x = pto2_tensor_view(&v1, NULL, zero_o);
  assert_invalid(&x);
  x = pto2_tensor_view(&v1, one, NULL);
  assert_invalid(&x);
  pto2_tensor bad = pto2_tensor_view(&v1, z0, zero_o);
  x = pto2_tensor_view(&bad, one, zero_o);
  assert_invalid(&x);

  /* view2 is view with {rows, cols} at {row0, col0}. */
  pto2_tensor w = pto2_tensor_view2(&t, 3, 5, 4, 10);
  ASSERT_TRUE(pto2_tensor_is_valid(&w));
  ASSERT_EQ_U64(w.shapes[0], 3);
  ASSERT_EQ_U64(w.shapes[1], 5);
  ASSERT_EQ_U64(w.offsets[0], 4);
  ASSERT_EQ_U64(w.offsets[1], 10);
  ASSERT_TRUE(w.data == (void *)&buf[4 * 16 + 10]);
  x = pto2_tensor_view2(&t, 3, 7, 4, 10); /* cols 10..17 > 16 */
  assert_invalid(&x);
  x = pto2_tensor_view2(&t, 5, 5, 4, 0); /* rows 4..9 > 8 */
  assert_invalid(&x);

  /* 3-D with a 2-byte dtype: the data pointer scales by the element size. */
  static uint16_t h[4 * 6 * 8];
  const uint32_t s3d[3] = {4, 6, 8};
  pto2_tensor t3 = pto2_tensor_external(h, s3d, 3, PTO2_FLOAT16);
  const uint32_t vs[3] = {2, 3, 4}, vo[3] = {1, 2, 3};
  pto2_tensor v3d = pto2_tensor_view(&t3, vs, vo);
  ASSERT_TRUE(v3d.data == (void *)&h[1 * 48 + 2 * 8 + 3]);
  ASSERT_EQ_U64(pto2_tensor_numel(&v3d), 24);
}

static void test_reshape(void) {
  static float buf[8 * 16];
  const uint32_t shp[2] = {8, 16};
  pto2_tensor t = pto2_tensor_external(buf, shp, 2, PTO2_FLOAT32);
  t.owner = (pto2_task_id){7};
  t.version = 2;

  /* Whole tensor to 1-D and to another 2-D shape. */
  const uint32_t flat[1] = {128};
  pto2_tensor r = pto2_tensor_reshape(&t, flat, 1);
  ASSERT_TRUE(pto2_tensor_is_valid(&r));
  ASSERT_EQ_U64(r.ndims, 1);
  ASSERT_EQ_U64(r.shapes[0], 128);
  ASSERT_EQ_U64(r.raw_shapes[0], 128);
  ASSERT_EQ_U64(r.offsets[0], 0);
  ASSERT_TRUE(r.data == (void *)buf);
  ASSERT_TRUE(r.addr == (void *)buf);
  ASSERT_EQ_U64(r.nbytes, sizeof buf);
  ASSERT_EQ_U64(r.owner.raw, 7);
  ASSERT_EQ_INT(r.version, 2);

  /* Element count must match. */
  const uint32_t wrong[2] = {16, 9}, zero[2] = {16, 0};
  pto2_tensor x = pto2_tensor_reshape(&t, wrong, 2);
  assert_invalid(&x);
  x = pto2_tensor_reshape(&t, zero, 2);
  assert_invalid(&x);
  x = pto2_tensor_reshape(&t, flat, 0);
  assert_invalid(&x);
  x = pto2_tensor_reshape(&t, NULL, 1);
  assert_invalid(&x);
  const uint32_t six[6] = {128, 1, 1, 1, 1, 1};
  x = pto2_tensor_reshape(&t, six, PTO2_MAX_DIMS + 1);
  assert_invalid(&x);

  /* A column view is not contiguous. */
  pto2_tensor cols = pto2_tensor_view2(&t, 8, 4, 0, 0);
  const uint32_t c32[1] = {32};
  x = pto2_tensor_reshape(&cols, c32, 1);
  assert_invalid(&x);

  /* A reshape of an offset row view keeps the view's data
   * pointer (rows 2..5 start at element 32), not the allocation base. */
  pto2_tensor rows = pto2_tensor_view2(&t, 4, 16, 2, 0);
  const uint32_t s64[1] = {64};
  pto2_tensor rr = pto2_tensor_reshape(&rows, s64, 1);
  ASSERT_TRUE(pto2_tensor_is_valid(&rr));
  ASSERT_TRUE(rr.data == (void *)&buf[32]);
  ASSERT_TRUE(rr.addr == (void *)buf);
  ASSERT_EQ_U64(rr.shapes[0], 64);
  ASSERT_EQ_U64(rr.offsets[0], 0);
  ASSERT_EQ_U64(pto2_tensor_numel(&rr), 64);
  ASSERT_EQ_U64(pto2__tensor_start(&rr), 32);
  ASSERT_EQ_U64(pto2__tensor_raw_origin(&rr), 32);
  uint64_t lo, hi;
  pto2__tensor_byte_range(&rr, &lo, &hi);
  ASSERT_EQ_U64(lo, 32 * sizeof(float));
  ASSERT_EQ_U64(hi, 96 * sizeof(float));

  /* A view of that reshape addresses the right elements (40..47). */
  const uint32_t vs[1] = {8}, vo[1] = {8};
  pto2_tensor rv = pto2_tensor_view(&rr, vs, vo);
  ASSERT_TRUE(rv.data == (void *)&buf[40]);
  ASSERT_EQ_U64(pto2__tensor_raw_origin(&rv), 32);

  /* Reshape of that view, to 2-D: still elements 40..47. */
  const uint32_t s24[2] = {2, 4};
  pto2_tensor rv2 = pto2_tensor_reshape(&rv, s24, 2);
  ASSERT_TRUE(rv2.data == (void *)&buf[40]);
  ASSERT_EQ_U64(rv2.raw_shapes[0], 2);
  ASSERT_EQ_U64(rv2.raw_shapes[1], 4);
  ASSERT_EQ_U64(pto2_tensor_stride(&rv2, 0), 4);

  /* 3-D: a slab over whole trailing dimensions is contiguous, a slab that
   * cuts dimension 1 is not. */
  static uint8_t b3[4 * 6 * 8];
  const uint32_t s3[3] = {4, 6, 8};
  pto2_tensor t3 = pto2_tensor_external(b3, s3, 3, PTO2_UINT8);
  const uint32_t slab_s[3] = {2, 6, 8}, slab_o[3] = {1, 0, 0};
  pto2_tensor slab = pto2_tensor_view(&t3, slab_s, slab_o);
  const uint32_t s96[1] = {96};
  pto2_tensor rs = pto2_tensor_reshape(&slab, s96, 1);
  ASSERT_TRUE(pto2_tensor_is_valid(&rs));
  ASSERT_TRUE(rs.data == (void *)&b3[48]);
  const uint32_t cut_s[3] = {2, 3, 8};
  pto2_tensor cut = pto2_tensor_view(&t3, cut_s, slab_o);
  const uint32_t s48[1] = {48};
  x = pto2_tensor_reshape(&cut, s48, 1);
  assert_invalid(&x);
}

static void test_create_info(void) {
  const uint32_t shp[3] = {2, 3, 4};
  pto2_create_info ci = pto2_create_info_make(shp, 3, PTO2_INT16);
  ASSERT_EQ_U64(ci.ndims, 3);
  ASSERT_EQ_U64(ci.dtype, PTO2_INT16);
  ASSERT_EQ_U64(ci.shapes[0], 2);
  ASSERT_EQ_U64(ci.shapes[1], 3);
  ASSERT_EQ_U64(ci.shapes[2], 4);
  ASSERT_EQ_U64(ci.shapes[3], 0);
  ASSERT_TRUE(!ci.manual_dep);
  ASSERT_TRUE(!ci.has_initial_value);
  pto2_create_info_set_initial(&ci, 0xabcd);
  ASSERT_TRUE(ci.has_initial_value);
  ASSERT_EQ_U64(ci.initial_value, 0xabcd);

  const uint32_t zero[2] = {2, 0};
  const uint32_t six[6] = {1, 1, 1, 1, 1, 1};
  ASSERT_EQ_U64(pto2_create_info_make(NULL, 1, PTO2_INT16).ndims, 0);
  ASSERT_EQ_U64(pto2_create_info_make(shp, 0, PTO2_INT16).ndims, 0);
  ASSERT_EQ_U64(pto2_create_info_make(six, PTO2_MAX_DIMS + 1, PTO2_INT16).ndims, 0);
  ASSERT_EQ_U64(pto2_create_info_make(shp, 3, PTO2_DTYPE_COUNT).ndims, 0);
  ASSERT_EQ_U64(pto2_create_info_make(zero, 2, PTO2_INT16).ndims, 0);
  ASSERT_EQ_U64(pto2_create_info_make(six, PTO2_MAX_DIMS, PTO2_INT16).ndims, PTO2_MAX_DIMS);
}

static void test_dtypes(void) {
  static const struct {
    pto2_dtype d;
    size_t size;
    const char *name;
  } tab[] = {
      {PTO2_FLOAT32, 4, "float32"}, {PTO2_FLOAT16, 2, "float16"}, {PTO2_INT32, 4, "int32"},
      {PTO2_INT16, 2, "int16"},     {PTO2_INT8, 1, "int8"},       {PTO2_UINT8, 1, "uint8"},
      {PTO2_BFLOAT16, 2, "bfloat16"}, {PTO2_INT64, 8, "int64"},   {PTO2_UINT64, 8, "uint64"},
  };
  ASSERT_EQ_U64(sizeof tab / sizeof tab[0], PTO2_DTYPE_COUNT);
  for (unsigned i = 0; i < PTO2_DTYPE_COUNT; i++) {
    ASSERT_EQ_U64(tab[i].d, i); /* the enum order is ABI */
    ASSERT_EQ_U64(pto2_dtype_size(tab[i].d), tab[i].size);
    ASSERT_STR_CONTAINS(pto2_dtype_name(tab[i].d), tab[i].name);
    ASSERT_EQ_U64(strlen(pto2_dtype_name(tab[i].d)), strlen(tab[i].name));
  }
  /* The inline copy used on hot paths agrees with the public table. */
  for (unsigned d = 0; d <= PTO2_DTYPE_COUNT + 1; d++)
    ASSERT_EQ_U64(pto2__dtype_size(d), pto2_dtype_size((pto2_dtype)d));
  ASSERT_EQ_U64(pto2_dtype_size(PTO2_DTYPE_COUNT), 0);
  ASSERT_EQ_U64(pto2_dtype_size((pto2_dtype)-1), 0);
  ASSERT_TRUE(strcmp(pto2_dtype_name(PTO2_DTYPE_COUNT), "invalid") == 0);
  ASSERT_TRUE(strcmp(pto2_dtype_name((pto2_dtype)-1), "invalid") == 0);
}

/* ------------------------------------------------------------------------ */
/* bf16 / fp16                                                               */
/* ------------------------------------------------------------------------ */

static int bf16_is_nan(uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0; }
static int fp16_is_nan(uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }

static void test_bf16(void) {
  /* Spot values. */
  ASSERT_EQ_U64(pto2_f32_to_bf16(1.0f), 0x3f80);
  ASSERT_EQ_U64(pto2_f32_to_bf16(-2.0f), 0xc000);
  ASSERT_EQ_U64(pto2_f32_to_bf16(0.0f), 0x0000);
  ASSERT_EQ_U64(pto2_f32_to_bf16(-0.0f), 0x8000);
  ASSERT_EQ_U64(pto2_f32_to_bf16(INFINITY), 0x7f80);
  ASSERT_EQ_U64(pto2_f32_to_bf16(-INFINITY), 0xff80);
  ASSERT_TRUE(pto2_bf16_to_f32(0x3f80) == 1.0f);
  ASSERT_TRUE(pto2_bf16_to_f32(0x7f80) == INFINITY);
  /* Ties go to even; just above a tie rounds up; just below rounds down. */
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x3f808000u)), 0x3f80);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x3f818000u)), 0x3f82);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0xbf818000u)), 0xbf82);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x3f808001u)), 0x3f81);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x3f807fffu)), 0x3f80);
  /* Subnormals round like everything else. */
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x00008000u)), 0x0000);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x00018000u)), 0x0002);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x00010000u)), 0x0001);
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x80018000u)), 0x8002);
  /* FLT_MAX is above the last bf16 + half an ulp: overflows to inf. */
  ASSERT_EQ_U64(pto2_f32_to_bf16(f32(0x7f7fffffu)), 0x7f80);
  /* NaN stays NaN (quiet), sign kept, even when the payload is only in the
   * low 16 bits that are cut off. */
  ASSERT_TRUE(bf16_is_nan(pto2_f32_to_bf16(NAN)));
  uint16_t sn = pto2_f32_to_bf16(f32(0x7f800001u));
  ASSERT_TRUE(bf16_is_nan(sn));
  uint16_t nsn = pto2_f32_to_bf16(f32(0xff800001u));
  ASSERT_TRUE(bf16_is_nan(nsn));
  ASSERT_EQ_U64(nsn & 0x8000u, 0x8000);
  ASSERT_TRUE(isnan(pto2_bf16_to_f32(0x7fc1)));

  /* Exhaustive over every bf16 value h of both signs: h is exact; the
   * midpoint to h+1 goes to the even one; a float ulp either side of the
   * midpoint goes to the nearer one. */
  for (uint32_t h = 0; h < 0x10000u; h++) {
    uint16_t hh = (uint16_t)h;
    if (bf16_is_nan(hh)) {
      ASSERT_TRUE(isnan(pto2_bf16_to_f32(hh)));
      ASSERT_TRUE(bf16_is_nan(pto2_f32_to_bf16(pto2_bf16_to_f32(hh))));
      continue;
    }
    ASSERT_EQ_U64(bits32(pto2_bf16_to_f32(hh)), h << 16);
    ASSERT_EQ_U64(pto2_f32_to_bf16(pto2_bf16_to_f32(hh)), h);
    if ((h & 0x7fffu) >= 0x7f80u) continue; /* inf: no next value */
    uint32_t mid = (h << 16) | 0x8000u;
    uint32_t even = (h & 1u) ? h + 1 : h;
    ASSERT_EQ_U64(pto2_f32_to_bf16(f32(mid)), even);
    ASSERT_EQ_U64(pto2_f32_to_bf16(f32(mid - 1)), h);
    ASSERT_EQ_U64(pto2_f32_to_bf16(f32(mid + 1)), h + 1);
  }
}

/* Reference fp16 rounding: every non-negative finite fp16 value as a double
 * (monotone in its bit pattern), plus 65536 standing in for the "next" value
 * after 65504 so that the overflow threshold falls out of the tie rule. */
static double fp16_val[0x7c01];

static void fp16_table(void) {
  for (uint32_t h = 0; h < 0x7c00u; h++) {
    uint32_t e = h >> 10, m = h & 0x3ffu;
    fp16_val[h] = e ? ldexp(1.0 + m / 1024.0, (int)e - 15) : ldexp((double)m, -24);
  }
  fp16_val[0x7c00] = 65536.0;
}

static uint16_t ref_f32_to_fp16(float f) {
  uint16_t sign = (bits32(f) >> 16) & 0x8000u;
  double x = fabs((double)f);
  if (x >= 65536.0) return (uint16_t)(sign | 0x7c00u);
  uint32_t lo = 0, hi = 0x7c00u; /* fp16_val[lo] <= x < fp16_val[hi] */
  while (hi - lo > 1) {
    uint32_t mid = (lo + hi) / 2;
    if (fp16_val[mid] <= x) lo = mid;
    else hi = mid;
  }
  if (fp16_val[lo] == x) return (uint16_t)(sign | lo);
  double dlo = x - fp16_val[lo], dhi = fp16_val[hi] - x;
  uint32_t r = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1u) ? hi : lo);
  return (uint16_t)(sign | r);
}

static void check_fp16(uint32_t fbits) {
  float f = f32(fbits);
  uint16_t got = pto2_f32_to_fp16(f), want = ref_f32_to_fp16(f);
  if (got != want)
    TEST_FAIL("f32_to_fp16(0x%08x = %.9g) = 0x%04x, want 0x%04x", (unsigned)fbits, (double)f,
              (unsigned)got, (unsigned)want);
}

static void test_fp16(void) {
  fp16_table();
  /* Spot values of fp16 -> f32. */
  ASSERT_TRUE(pto2_fp16_to_f32(0x3c00) == 1.0f);
  ASSERT_TRUE(pto2_fp16_to_f32(0xc000) == -2.0f);
  ASSERT_TRUE(pto2_fp16_to_f32(0x7bff) == 65504.0f);
  ASSERT_TRUE(pto2_fp16_to_f32(0x0400) == ldexpf(1.0f, -14)); /* smallest normal */
  ASSERT_TRUE(pto2_fp16_to_f32(0x0001) == ldexpf(1.0f, -24)); /* smallest subnormal */
  ASSERT_TRUE(pto2_fp16_to_f32(0x03ff) == ldexpf(1023.0f, -24));
  ASSERT_TRUE(pto2_fp16_to_f32(0x8001) == -ldexpf(1.0f, -24));
  ASSERT_TRUE(pto2_fp16_to_f32(0x7c00) == INFINITY);
  ASSERT_TRUE(pto2_fp16_to_f32(0xfc00) == -INFINITY);
  ASSERT_EQ_U64(bits32(pto2_fp16_to_f32(0x8000)), 0x80000000u); /* -0 */
  ASSERT_TRUE(isnan(pto2_fp16_to_f32(0x7e00)));
  ASSERT_TRUE(isnan(pto2_fp16_to_f32(0x7c01)));
  ASSERT_TRUE(isnan(pto2_fp16_to_f32(0xfc01)));

  /* Spot values of f32 -> fp16: ties to even, overflow threshold,
   * subnormal ties, zero signs, inf and NaN. */
  ASSERT_EQ_U64(pto2_f32_to_fp16(1.0f), 0x3c00);
  ASSERT_EQ_U64(pto2_f32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3c00);     /* tie, even down */
  ASSERT_EQ_U64(pto2_f32_to_fp16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02); /* tie, even up */
  ASSERT_EQ_U64(pto2_f32_to_fp16(nextafterf(1.0f + ldexpf(1.0f, -11), 2.0f)), 0x3c01);
  ASSERT_EQ_U64(pto2_f32_to_fp16(65504.0f), 0x7bff);
  ASSERT_EQ_U64(pto2_f32_to_fp16(nextafterf(65520.0f, 0.0f)), 0x7bff);
  ASSERT_EQ_U64(pto2_f32_to_fp16(65520.0f), 0x7c00); /* tie with 65536: even is inf */
  ASSERT_EQ_U64(pto2_f32_to_fp16(-65520.0f), 0xfc00);
  ASSERT_EQ_U64(pto2_f32_to_fp16(1e10f), 0x7c00);
  ASSERT_EQ_U64(pto2_f32_to_fp16(ldexpf(1.0f, -25)), 0x0000); /* tie 0 / 0x0001 */
  ASSERT_EQ_U64(pto2_f32_to_fp16(nextafterf(ldexpf(1.0f, -25), 1.0f)), 0x0001);
  ASSERT_EQ_U64(pto2_f32_to_fp16(3 * ldexpf(1.0f, -25)), 0x0002); /* tie 1 / 2 */
  ASSERT_EQ_U64(pto2_f32_to_fp16(5 * ldexpf(1.0f, -25)), 0x0002); /* tie 2 / 3 */
  ASSERT_EQ_U64(pto2_f32_to_fp16(ldexpf(1023.5f, -24)), 0x0400);  /* subnormal to normal */
  ASSERT_EQ_U64(pto2_f32_to_fp16(ldexpf(1.0f, -26)), 0x0000);
  ASSERT_EQ_U64(pto2_f32_to_fp16(f32(0x00000001u)), 0x0000); /* float subnormal */
  ASSERT_EQ_U64(pto2_f32_to_fp16(-ldexpf(1.0f, -24)), 0x8001);
  ASSERT_EQ_U64(pto2_f32_to_fp16(0.0f), 0x0000);
  ASSERT_EQ_U64(pto2_f32_to_fp16(-0.0f), 0x8000);
  ASSERT_EQ_U64(pto2_f32_to_fp16(INFINITY), 0x7c00);
  ASSERT_EQ_U64(pto2_f32_to_fp16(-INFINITY), 0xfc00);
  ASSERT_TRUE(fp16_is_nan(pto2_f32_to_fp16(NAN)));
  ASSERT_TRUE(fp16_is_nan(pto2_f32_to_fp16(f32(0x7f800001u)))); /* payload below fp16 bits */
  uint16_t nn = pto2_f32_to_fp16(f32(0xffc00000u));
  ASSERT_TRUE(fp16_is_nan(nn));
  ASSERT_EQ_U64(nn & 0x8000u, 0x8000);

  /* Every fp16 value round-trips; every midpoint between neighbours (the
   * tie) and a float ulp either side match the reference. */
  for (uint32_t h = 0; h < 0x10000u; h++) {
    uint16_t hh = (uint16_t)h;
    float f = pto2_fp16_to_f32(hh);
    if (fp16_is_nan(hh)) {
      ASSERT_TRUE(isnan(f));
      ASSERT_TRUE(fp16_is_nan(pto2_f32_to_fp16(f)));
      continue;
    }
    if ((h & 0x7fffu) < 0x7c00u)
      ASSERT_TRUE(fabs((double)f) == fp16_val[h & 0x7fffu]); /* exact value */
    ASSERT_EQ_U64(pto2_f32_to_fp16(f), h);
    if ((h & 0x7fffu) >= 0x7c00u) continue;
    double mid = (fp16_val[h & 0x7fffu] + fp16_val[(h & 0x7fffu) + 1]) / 2;
    uint32_t mb = bits32((float)mid) | ((h & 0x8000u) << 16); /* exact in float */
    ASSERT_TRUE(fabs((double)f32(mb)) == mid);
    check_fp16(mb);
    check_fp16(mb - 1);
    check_fp16(mb + 1);
  }
  /* A sweep over float bit patterns of both signs (normals, subnormals,
   * overflow range), against the reference. */
  for (uint64_t b = 0; b < 0x7f800000u; b += 0x1001u) {
    check_fp16((uint32_t)b);
    check_fp16((uint32_t)b | 0x80000000u);
  }
}

static void test_scalar_packing(void) {
  ASSERT_EQ_U64(pto2_u64_from_f32(1.0f), 0x3f800000u);
  ASSERT_EQ_U64(pto2_u64_from_f32(-0.0f), 0x80000000u); /* high bits stay zero */
  ASSERT_TRUE(pto2_f32_from_u64(0x3f800000u) == 1.0f);
  ASSERT_TRUE(pto2_f32_from_u64(UINT64_C(0xdeadbeef40490fdb)) == f32(0x40490fdbu)); /* low bytes */
  ASSERT_TRUE(pto2_f32_from_u64(pto2_u64_from_f32(3.25f)) == 3.25f);
  ASSERT_EQ_U64(pto2_u64_from_i32(-1), UINT64_C(0x00000000ffffffff)); /* zero extension */
  ASSERT_EQ_U64(pto2_u64_from_i32(INT32_MIN), UINT64_C(0x0000000080000000));
  ASSERT_EQ_U64(pto2_u64_from_i32(12345), 12345);
  ASSERT_EQ_INT(pto2_i32_from_u64(UINT64_C(0x00000000ffffffff)), -1);
  ASSERT_EQ_INT(pto2_i32_from_u64(UINT64_C(0xffffffff80000000)), INT32_MIN);
  ASSERT_EQ_INT(pto2_i32_from_u64(UINT64_C(0x1234567800000007)), 7);
}

/* ------------------------------------------------------------------------ */
/* Argument builder                                                          */
/* ------------------------------------------------------------------------ */

static void test_arg_builder(void) {
  static float buf[16];
  const uint32_t s[1] = {16};
  pto2_tensor t = pto2_tensor_external(buf, s, 1, PTO2_FLOAT32);
  pto2_create_info ci = pto2_create_info_make(s, 1, PTO2_FLOAT32);
  pto2_arg a;

  /* Fresh builder. */
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.block_num, 1);
  ASSERT_TRUE(pto2_arg_output(&a, 0) == NULL);

  /* Tensor after scalar. */
  pto2_arg_add_input(&a, &t);
  pto2_arg_add_scalar(&a, 5);
  pto2_arg_add_inout(&a, &t);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "all tensors must be added before any scalars");
  ASSERT_TRUE(strcmp(pto2_arg_error(&a), PTO2__ARG_ERR_AFTER_SCALAR) == 0);
  ASSERT_EQ_U64(a.tensor_count, 1);
  /* The first error wins: later misuse does not replace it. */
  pto2_arg_set_block_num(&a, 0);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(strcmp(pto2_arg_error(&a), PTO2__ARG_ERR_AFTER_SCALAR) == 0);
  ASSERT_EQ_U64(a.tensor_count, 1);
  ASSERT_EQ_U64(a.output_count, 0);
  /* Reset clears the error and the counts. */
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.tensor_count, 0);
  ASSERT_EQ_U64(a.scalar_count, 0);

  /* 16 tensors fit, the 17th (of any kind) does not. */
  for (int i = 0; i < PTO2_MAX_TENSOR_ARGS; i++) {
    if (i % 4 == 0) pto2_arg_add_input(&a, &t);
    else if (i % 4 == 1) pto2_arg_add_output(&a, &ci);
    else if (i % 4 == 2) pto2_arg_add_output_existing(&a, &t);
    else pto2_arg_add_no_dep(&a, &t);
  }
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.tensor_count, 16);
  ASSERT_EQ_U64(a.output_count, 4);
  ASSERT_EQ_U64(a.kinds[1], PTO2_ARG_OUTPUT);
  ASSERT_EQ_U64(a.kinds[3], PTO2_ARG_NO_DEP);
  pto2_arg_add_output(&a, &ci);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "Too many tensor args");
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "16");
  ASSERT_EQ_U64(a.tensor_count, 16);
  ASSERT_EQ_U64(a.output_count, 4);

  /* 128 scalars fit, the 129th does not. */
  pto2_arg_init(&a);
  for (int i = 0; i < PTO2_MAX_SCALAR_ARGS; i++) pto2_arg_add_scalar(&a, (uint64_t)i * 3);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.scalar_count, 128);
  ASSERT_EQ_U64(a.scalars[127], 381);
  pto2_arg_add_scalar(&a, 1);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "Too many scalar args");
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "128");
  ASSERT_EQ_U64(a.scalar_count, 128);

  /* add_scalars is all or none. */
  uint64_t many[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  pto2_arg_init(&a);
  for (int i = 0; i < 120; i++) pto2_arg_add_scalar(&a, 0);
  pto2_arg_add_scalars(&a, many, 8);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.scalar_count, 128);
  ASSERT_EQ_U64(a.scalars[127], 8);
  pto2_arg_init(&a);
  for (int i = 0; i < 120; i++) pto2_arg_add_scalar(&a, 0);
  pto2_arg_add_scalars(&a, many, 9);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "Too many scalar args");
  ASSERT_EQ_U64(a.scalar_count, 120);

  /* add_scalars_i32 zero-extends. */
  const int32_t iv[3] = {-1, 7, INT32_MIN};
  pto2_arg_init(&a);
  pto2_arg_add_scalars_i32(&a, iv, 3);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.scalar_count, 3);
  ASSERT_EQ_U64(a.scalars[0], UINT64_C(0x00000000ffffffff));
  ASSERT_EQ_U64(a.scalars[1], 7);
  ASSERT_EQ_U64(a.scalars[2], UINT64_C(0x0000000080000000));
  pto2_arg_init(&a);
  for (int i = 0; i < 126; i++) pto2_arg_add_scalar(&a, 0);
  pto2_arg_add_scalars_i32(&a, iv, 3);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "Too many scalar args");
  ASSERT_EQ_U64(a.scalar_count, 126);

  /* copy_scalars_from: in range copies [off, off+n); out of range fails. */
  pto2_arg src;
  pto2_arg_init(&src);
  for (int i = 0; i < 4; i++) pto2_arg_add_scalar(&src, 100 + (uint64_t)i);
  pto2_arg_init(&a);
  pto2_arg_copy_scalars_from(&a, &src, 1, 3);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.scalar_count, 3);
  ASSERT_EQ_U64(a.scalars[0], 101);
  ASSERT_EQ_U64(a.scalars[2], 103);
  pto2_arg_copy_scalars_from(&a, &src, 4, 0); /* empty range at the end */
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.scalar_count, 3);
  pto2_arg_copy_scalars_from(&a, &src, 3, 2);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "out of bounds in copy_scalars_from");
  ASSERT_EQ_U64(a.scalar_count, 3);
  pto2_arg_init(&a);
  pto2_arg_copy_scalars_from(&a, &src, 5, 0);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "out of bounds in copy_scalars_from");
  pto2_arg_init(&a);
  pto2_arg_copy_scalars_from(&a, &src, 1, UINT32_MAX); /* off + n wraps */
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "out of bounds in copy_scalars_from");

  /* block_num must be 1..32767. */
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 32767);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.block_num, 32767);
  pto2_arg_set_block_num(&a, 0);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "block_num must be between 1 and 32767");
  ASSERT_EQ_U64(a.block_num, 32767);
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 32768);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "block_num must be between 1 and 32767");
  ASSERT_EQ_U64(a.block_num, 1);

  /* Explicit producers: 16 fit, the 17th does not; set_deps replaces. */
  pto2_arg_init(&a);
  ASSERT_TRUE(!a.explicit_deps);
  for (uint64_t i = 0; i < PTO2_MAX_FANIN; i++) pto2_arg_add_dep(&a, (pto2_task_id){i});
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_TRUE(a.explicit_deps);
  ASSERT_EQ_U64(a.dep_count, 16);
  pto2_arg_add_dep(&a, (pto2_task_id){99});
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "Too many explicit producers");
  ASSERT_EQ_U64(a.dep_count, 16);
  pto2_arg_init(&a);
  pto2_arg_add_dep(&a, (pto2_task_id){1});
  const pto2_task_id two[2] = {{5}, {6}};
  pto2_arg_set_deps(&a, two, 2);
  ASSERT_EQ_U64(a.dep_count, 2);
  ASSERT_EQ_U64(a.deps[0].raw, 5);
  pto2_arg_init(&a);
  pto2_arg_set_deps(&a, NULL, 0); /* "no producers" is still explicit */
  ASSERT_TRUE(a.explicit_deps);
  ASSERT_EQ_U64(a.dep_count, 0);
}

static void test_errors(void) {
  /* The numbers are ABI (1..7 follow the reference runtime). */
  static const struct {
    int code;
    const char *name;
  } fixed[] = {
      {PTO2_E_SCOPE_DEADLOCK, "PTO2_E_SCOPE_DEADLOCK"},
      {PTO2_E_HEAP_RING_DEADLOCK, "PTO2_E_HEAP_RING_DEADLOCK"},
      {PTO2_E_FLOW_CONTROL_DEADLOCK, "PTO2_E_FLOW_CONTROL_DEADLOCK"},
      {PTO2_E_DEP_POOL_OVERFLOW, "PTO2_E_DEP_POOL_OVERFLOW"},
      {PTO2_E_INVALID_ARGS, "PTO2_E_INVALID_ARGS"},
      {PTO2_E_DEPENDENCY_OVERFLOW, "PTO2_E_DEPENDENCY_OVERFLOW"},
      {PTO2_E_NO_MEMORY, "PTO2_E_NO_MEMORY"},
      {PTO2_E_INVALID_CONFIG, "PTO2_E_INVALID_CONFIG"},
      {PTO2_E_KERNEL_FAILED, "PTO2_E_KERNEL_FAILED"},
      {PTO2_E_TIMEOUT, "PTO2_E_TIMEOUT"},
      {PTO2_E_BUSY, "PTO2_E_BUSY"},
      {PTO2_E_UNKNOWN_KERNEL, "PTO2_E_UNKNOWN_KERNEL"},
      {PTO2_E_SYSTEM, "PTO2_E_SYSTEM"},
      {PTO2_E_INTERNAL, "PTO2_E_INTERNAL"},
      {PTO2_E_ABORTED, "PTO2_E_ABORTED"},
      {PTO2_E_HAZARD, "PTO2_E_HAZARD"},
  };
  const unsigned n = sizeof fixed / sizeof fixed[0];
  for (unsigned i = 0; i < n; i++) {
    ASSERT_EQ_INT(fixed[i].code, -(int)(i + 1));
    ASSERT_TRUE(strcmp(pto2_err_name(fixed[i].code), fixed[i].name) == 0);
    const char *msg = pto2_strerror(fixed[i].code);
    ASSERT_TRUE(msg && *msg);
    ASSERT_TRUE(strcmp(msg, "unknown error") != 0);
    for (unsigned j = 0; j < i; j++) ASSERT_TRUE(strcmp(msg, pto2_strerror(fixed[j].code)) != 0);
  }
  /* Every entry of the generating list is covered above, with its text. */
  unsigned listed = 0;
#define XX(name, value, text)                                          \
  listed++;                                                            \
  ASSERT_EQ_INT(PTO2_E_##name, value);                                 \
  ASSERT_TRUE(strcmp(pto2_strerror(value), text) == 0);                \
  ASSERT_TRUE(strcmp(pto2_err_name(value), "PTO2_E_" #name) == 0);
  PTO2_ERRNO_MAP(XX)
#undef XX
  ASSERT_EQ_U64(listed, n);
  ASSERT_TRUE(strcmp(pto2_strerror(PTO2_OK), "success") == 0);
  ASSERT_TRUE(strcmp(pto2_err_name(PTO2_OK), "PTO2_OK") == 0);
  const int unknown[] = {1, -17, 12345, INT32_MIN};
  for (unsigned i = 0; i < 4; i++) {
    ASSERT_TRUE(strcmp(pto2_strerror(unknown[i]), "unknown error") == 0);
    ASSERT_TRUE(strcmp(pto2_err_name(unknown[i]), "PTO2_E_UNKNOWN") == 0);
  }
}

int main(void) {
  test_external();
  test_view();
  test_reshape();
  test_create_info();
  test_dtypes();
  test_bf16();
  test_fp16();
  test_scalar_packing();
  test_arg_builder();
  test_errors();
  TEST_PASS("test_tensor");
}
