/*
 * Views of one buffer under different dtypes: element indices of one are
 * not element indices of the other, so their overlap is decided by bytes.
 * A float32 view of row 1 of a 4x4 buffer (bytes 16..32) and a float16
 * view of row 2 of the same memory seen as 4x4 halves (bytes 16..24)
 * overlap: AUTO orders a read after the write (RAW) and a write after a
 * write (WAW); AUTO_STRICT orders a write after a read (WAR).  Disjoint
 * bytes (float32 row 2, bytes 32..48) give no edge.
 */
#include <stdalign.h>
#include <stdint.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_NOP = 0 };
enum { RD, WR };

static int nop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static alignas(64) uint8_t buf[64];

typedef struct access {
  pto2_dtype dtype;
  uint32_t row;
  int kind;
} access;

typedef struct prog {
  pto2_scope_mode mode;
  access first, second;
} prog;

static void submit(pto2_runtime *rt, access x) {
  const uint32_t shape[2] = {4, 4};
  pto2_tensor all = pto2_tensor_external(buf, shape, 2, x.dtype);
  pto2_tensor v = pto2_tensor_view2(&all, 1, 4, x.row, 0);
  ASSERT_TRUE(pto2_tensor_is_valid(&v));
  pto2_arg a;
  pto2_arg_init(&a);
  if (x.kind == RD) pto2_arg_add_input(&a, &v);
  else pto2_arg_add_inout(&a, &v);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOP, &a)));
}

static void orch(pto2_runtime *rt, void *arg) {
  const prog *p = arg;
  ASSERT_EQ_INT(pto2_scope_begin(rt, p->mode), 0);
  submit(rt, p->first);
  submit(rt, p->second);
  ASSERT_EQ_INT(pto2_scope_end(rt), 0);
}

static void expect(pto2_runtime *rt, prog p, uint64_t edges, const char *what) {
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, orch, &p, &st), 0);
  if (st.edges != edges)
    TEST_FAIL("%s: %llu edges, expected %llu", what, (unsigned long long)st.edges,
              (unsigned long long)edges);
}

int main(void) {
  pto2_config c = {0};
  c.worker_threads = 1;
  c.block_dim = 2;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOP, PTO2_CORE_AIV, "nop", nop, 0), 0);
  const access w32 = {PTO2_FLOAT32, 1, WR}, w16 = {PTO2_FLOAT16, 2, WR};
  const access r32 = {PTO2_FLOAT32, 1, RD}, r16 = {PTO2_FLOAT16, 2, RD};
  const access w32_far = {PTO2_FLOAT32, 2, WR};
  expect(rt, (prog){PTO2_SCOPE_AUTO, w32, r16}, 1, "RAW float32 then float16");
  expect(rt, (prog){PTO2_SCOPE_AUTO, w16, r32}, 1, "RAW float16 then float32");
  expect(rt, (prog){PTO2_SCOPE_AUTO, w16, w32}, 1, "WAW");
  expect(rt, (prog){PTO2_SCOPE_AUTO_STRICT, r16, w32}, 1, "WAR (strict)");
  expect(rt, (prog){PTO2_SCOPE_AUTO_STRICT, r32, w16}, 1, "WAR (strict), float32 read");
  expect(rt, (prog){PTO2_SCOPE_AUTO, w32_far, r16}, 0, "disjoint bytes");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_dtype_alias");
}
