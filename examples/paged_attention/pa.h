/*
 * The paged-attention workload: its cases, seeded input data,
 * the nine kernels and a golden reference.
 *
 * An orchestration submits, per (batch, head tile), a chain of QK -> SF ->
 * PV -> UP tasks over the key/value blocks named by the block table (or
 * groups of up to PA_UNROLL blocks in the unroll variants); UP folds each
 * block into the running (max, sum, output) accumulators with online
 * softmax and writes the normalized rows of `out` at the last block.
 *
 * Kernels take their dimensions from the tensors they are given (M = q_tile
 * rows, K = head_dim, N = block_size), accept bf16 and fp16 inputs and
 * accumulate in fp32.  Their inner loops come in a portable version and
 * x86 versions chosen at run time (see enum pa_isa); each gives the same
 * bits on every run.
 */
#ifndef PA_H
#define PA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pto2/pto2.h"

/* ------------------------------------------------------------------------ */
/* Cases                                                                     */
/* ------------------------------------------------------------------------ */

#define PA_UNROLL 64        /* blocks per group in the unroll variants */
#define PA_Q_TILE_MAX 128   /* q_tile = min(num_heads, PA_Q_TILE_MAX) */
#define PA_SEED_DEFAULT UINT64_C(0x5eed2026)

typedef struct pa_case {
  const char *name;             /* "Case1", "Small1", ... */
  pto2_dtype dtype;             /* query, key and value: PTO2_BFLOAT16 or PTO2_FLOAT16 */
  uint32_t batch, num_heads, head_dim, block_size, max_model_len;
  const int32_t *context_lens;  /* cycled over the batch */
  uint32_t context_len_count;
  double rtol, atol;            /* allclose tolerance of `out` */
} pa_case;

/* Every predefined case, in a fixed order; *count receives their number. */
const pa_case *pa_case_all(size_t *count);
/* The predefined case called `name`, or NULL. */
const pa_case *pa_case_find(const char *name);
/* Rows of one head tile: min(num_heads, PA_Q_TILE_MAX). */
uint32_t pa_case_q_tile(const pa_case *c);
/* Context length of batch `b`. */
int32_t pa_case_context_len(const pa_case *c, uint32_t b);
/* Blocks holding the context of batch `b`: ceil(context_len / block_size). */
uint32_t pa_case_block_count(const pa_case *c, uint32_t b);
/* Columns of the block table: max_model_len / block_size. */
uint32_t pa_case_table_width(const pa_case *c);
/* Blocks in the key/value cache: batch * ceil(max context_len / block_size). */
uint32_t pa_case_total_blocks(const pa_case *c);

/* ------------------------------------------------------------------------ */
/* Input data                                                                */
/* ------------------------------------------------------------------------ */

/* The six tensor arguments of every orchestration, in order. */
enum pa_tensor_index {
  PA_T_QUERY = 0,        /* [batch, num_heads, head_dim] case dtype */
  PA_T_KEY_CACHE = 1,    /* [total_blocks, block_size, 1, head_dim] case dtype */
  PA_T_VALUE_CACHE = 2,  /* same */
  PA_T_BLOCK_TABLE = 3,  /* [batch, table_width] int32 */
  PA_T_CONTEXT_LENS = 4, /* [batch] int32 */
  PA_T_OUT = 5,          /* [batch, num_heads, head_dim] fp32 */
  PA_TENSOR_COUNT = 6
};

/* The buffers of one run of a case.  All fields are read-only except the
 * contents of `out`, which the kernels write. */
typedef struct pa_inputs {
  const pa_case *pcase;  /* must outlive the inputs */
  uint64_t seed;
  uint32_t total_blocks;
  float scale;           /* 1.0 */
  void *query, *key_cache, *value_cache; /* case dtype */
  int32_t *block_table, *context_lens;
  float *out;            /* zeros after create and pa_inputs_clear_out() */
} pa_inputs;

/* Generates the inputs of `c` from `seed` (the same seed gives the same
 * bits): query uniform(-0.5, 0.5), key uniform(-0.5, 0.5), value
 * uniform(-1, 1), block table uniform in [0, total_blocks).  Returns 0,
 * PTO2_E_INVALID_ARGS for an inconsistent case, or PTO2_E_NO_MEMORY. */
int pa_inputs_create(const pa_case *c, uint64_t seed, pa_inputs **out) PTO2_WARN_UNUSED;
void pa_inputs_destroy(pa_inputs *in);
/* Zeroes `out` again (between rounds). */
void pa_inputs_clear_out(pa_inputs *in);
/* External tensors over the buffers, indexed by enum pa_tensor_index. */
void pa_inputs_tensors(const pa_inputs *in, pto2_tensor t[PA_TENSOR_COUNT]);
/* Elements of `out`: batch * num_heads * head_dim. */
size_t pa_inputs_out_count(const pa_inputs *in);

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

/* Kernel ids (the unroll variants share UP). */
enum pa_kernel_id {
  PA_K_QK = 0,        /* AIC  [IN qi, IN kj, OUT sij] */
  PA_K_SF = 1,        /* AIV  [IN sij view, OUT pij, OUT mij, OUT lij]; scale */
  PA_K_PV = 2,        /* AIC  [IN pij, IN vj, OUT oi_new] */
  PA_K_UP = 3,        /* AIV  [IN mij, lij, oi_new, INOUT mi, li, oi, dst]; is_first, is_last */
  PA_K_AIC_HUB = 4,   /* AIC  [] or accumulators as outputs; does nothing */
  PA_K_AIV_HUB = 5,   /* AIV  same */
  PA_K_QK_UNROLL = 6, /* AIC  [IN qi, IN key_cache, OUT sij_buf]; n_blocks, block-table ptr */
  PA_K_SF_UNROLL = 7, /* AIV  [IN sij_buf, OUT pij_buf, mij, lij];
                         scale, n_blocks, valid_len_last */
  PA_K_PV_UNROLL = 8, /* AIC  [IN pij_buf, IN value_cache, OUT oi_new]; n_blocks, block-table ptr */
  PA_KERNEL_COUNT = 9
};

/* Tensor arguments and scalars of each kernel (pa_kernels.c); scalars travel as
 * u64 (floats as their bits, the block-table pointer as an address).  Each
 * returns 0, or PTO2_E_INVALID_ARGS for a malformed call (argument counts,
 * dtypes or shapes that do not fit together, a block id outside the cache). */
int pa_kernel_qk(const pto2_kernel_ctx *ctx);
int pa_kernel_sf(const pto2_kernel_ctx *ctx);
int pa_kernel_pv(const pto2_kernel_ctx *ctx);
int pa_kernel_up(const pto2_kernel_ctx *ctx);
int pa_kernel_hub(const pto2_kernel_ctx *ctx);
int pa_kernel_qk_unroll(const pto2_kernel_ctx *ctx);
int pa_kernel_sf_unroll(const pto2_kernel_ctx *ctx);
int pa_kernel_pv_unroll(const pto2_kernel_ctx *ctx);
/* Does nothing; stands in for any kernel in `--kernels noop` runs. */
int pa_kernel_noop(const pto2_kernel_ctx *ctx);

typedef struct pa_kernel_info {
  int32_t id;              /* enum pa_kernel_id */
  pto2_core_type core;
  const char *name;        /* "QK", "SF", ... */
  pto2_kernel_fn fn;       /* the real kernel */
} pa_kernel_info;

/* PA_KERNEL_COUNT entries, entry i has id i. */
const pa_kernel_info *pa_kernel_table(void);
/* Registers every kernel id with its core type: the real kernels, or
 * pa_kernel_noop for all of them.  Returns 0 or the first error. */
int pa_kernels_register(pto2_runtime *rt, bool noop) PTO2_WARN_UNUSED;

/* Instruction sets of the kernels' inner loops, slowest first.  Each one
 * that this build and CPU support runs every kernel; the faster ones take
 * the bf16 matrix products (fp16 inputs and odd shapes go to the next
 * slower one), all but `portable` vectorise softmax and update with the
 * same polynomial exp (relative error below 2^-22 for x <= 0).
 *   portable    plain C
 *   avx512      AVX-512F: fp32 FMA products, vector exp
 *   avx512bf16  AVX-512 BF16: vdpbf16ps dot products, fp32 accumulation
 *   amx         AMX-BF16 tiles for the products (Linux asks the kernel for
 *               the tile state on first use) */
typedef enum pa_isa {
  PA_ISA_PORTABLE = 0,
  PA_ISA_AVX512 = 1,
  PA_ISA_AVX512BF16 = 2,
  PA_ISA_AMX = 3,
  PA_ISA_COUNT = 4
} pa_isa;

/* "portable", "avx512", "avx512bf16", "amx". */
const char *pa_isa_name(pa_isa isa);
/* 0 and *out set, or PTO2_E_INVALID_ARGS for an unknown name. */
int pa_isa_from_name(const char *name, pa_isa *out) PTO2_WARN_UNUSED;
/* Whether this build and CPU can run `isa`. */
bool pa_isa_supported(pa_isa isa);
/* The fastest supported ISA. */
pa_isa pa_isa_best(void);
/* The ISA the kernels use: the last pa_isa_set(), else PTO2_PA_ISA from the
 * environment at first use (see pa_isa_init_from_env), else the best. */
pa_isa pa_isa_active(void);
/* Selects `isa`; 0, or PTO2_E_INVALID_ARGS if unsupported (nothing changes).
 * Call it only while no kernel runs. */
int pa_isa_set(pa_isa isa) PTO2_WARN_UNUSED;
/* Selects the ISA named by PTO2_PA_ISA if it is set (else the best).
 * Returns 0, or PTO2_E_INVALID_ARGS with a message in msg for a name that
 * is unknown or not supported here.  Kernels that run first without this
 * call use the best ISA when the variable is bad. */
int pa_isa_init_from_env(char *msg, size_t msg_len) PTO2_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Golden reference and comparison                                           */
/* ------------------------------------------------------------------------ */

/* Computes the expected `out` (pa_inputs_out_count() floats) per the online-softmax definition in pa_golden.c
 * in double precision, block by block with online softmax, p rounded to the
 * input dtype.  Returns 0 or PTO2_E_NO_MEMORY. */
int pa_golden_compute(const pa_inputs *in, float *expected) PTO2_WARN_UNUSED;
/* The same for the rows of batch `b` only (expected points at row 0 of `out`). */
int pa_golden_compute_batch(const pa_inputs *in, uint32_t b, float *expected) PTO2_WARN_UNUSED;

typedef struct pa_compare_result {
  bool pass;             /* every element within atol + rtol * |expected| */
  double max_abs_err;    /* NaN if some element is NaN */
  size_t mismatches;     /* elements outside the tolerance */
  size_t first_mismatch; /* index of the first one (valid if mismatches > 0) */
} pa_compare_result;

/* torch.allclose(actual, expected, rtol, atol) over n floats, with details. */
pa_compare_result pa_compare(const float *actual, const float *expected, size_t n, double rtol,
                             double atol);

#endif /* PA_H */
