/*
 * pto2 — a task-graph runtime.
 *
 * An orchestration function (user C code, run by pto2_run() on the calling
 * thread) submits kernels on tensors.  pto2 finds the dependencies between
 * tasks from overlapping tensor regions, allocates task slots, output buffers
 * and dependency lists from per-scope-depth ring buffers, and runs ready tasks
 * on simulated AI cores: clusters of one AIC ("cube") and two AIV ("vector")
 * cores, carried by a small pool of executor threads.
 *
 * Threading contract: every function in the "orchestration" section must be
 * called from inside the orchestration function, on the thread that called
 * pto2_run().  Kernels run on executor threads and must not call pto2.
 *
 * Error model: the first error of a run is sticky.  After it, orchestration
 * calls return at once (submits return PTO2_TASK_ID_INVALID), the run ends
 * and pto2_run() returns the code; pto2_error_message() names the cause.  The
 * runtime stays usable for the next run.  Every failing call given a
 * runtime records its code and a message there: inside a run as the run's
 * error (host calls made inside a run fail it), outside a run replacing the
 * last one.  A NULL pointer parameter is PTO2_E_INVALID_ARGS, never a crash
 * (void calls ignore it; builders see below).
 *
 * Lifetime: using a runtime after pto2_runtime_destroy() (destroying it
 * twice included) is undefined behaviour.  Builds with PTO2_DEBUG_CHECKS
 * catch it on host calls: a message on stderr and PTO2_E_INVALID_ARGS.
 */
#ifndef PTO2_H
#define PTO2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pto2/errors.h"
#include "pto2/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI.  The library is used through its exported functions (PTO2_API) and
 * these plain-data structs, whose layout is part of the ABI and changes only
 * with the library's major version (the shared library's SOVERSION):
 * pto2_task_id, pto2_tensor, pto2_create_info, pto2_kernel_ctx,
 * pto2_mixed_kernels, pto2_config, pto2_run_stats, pto2_hazard,
 * pto2_hazard_access, and the numbering of every enum.  pto2_arg is NOT part of the ABI: its fields are private and
 * its size may change; an FFI allocates one with pto2_arg_create().
 *
 * The small functions marked PTO2_INLINE below are `static inline` (the fast
 * path for C and C++).  libpto2 also exports every one of them as an
 * ordinary function of the same name, for FFIs (ctypes, cffi, other
 * languages) that cannot call inline functions: define PTO2_NO_INLINE before
 * including this header to get plain declarations of them instead.
 */
#if defined(PTO2__ABI_DEFINE)
#define PTO2_INLINE PTO2_API /* src/api/abi.c: the exported definitions */
#elif !defined(PTO2_NO_INLINE)
#define PTO2_INLINE static inline
#endif

/* The library's version, e.g. "0.1.0" (PTO2_VERSION_STRING of the library,
 * which may differ from the header's when linking dynamically). */
PTO2_API const char *pto2_version(void);
/* major * 10000 + minor * 100 + patch, like PTO2_VERSION. */
PTO2_API int pto2_version_number(void);

/* ------------------------------------------------------------------------ */
/* Limits                                                                    */
/* ------------------------------------------------------------------------ */

#define PTO2_MAX_DIMS 5           /* tensor rank */
#define PTO2_MAX_TENSOR_ARGS 16   /* tensor arguments per task */
#define PTO2_MAX_SCALAR_ARGS 128  /* scalar arguments per task */
#define PTO2_MAX_FANIN 16         /* distinct producers per task */
#define PTO2_MAX_SCOPE_DEPTH 64   /* scope nesting, the root scope included */
#define PTO2_RING_COUNT 4         /* ring = min(scope depth, 3) */
#define PTO2_MAX_KERNELS 64       /* kernel ids 0 .. PTO2_MAX_KERNELS-1 */
#define PTO2_NO_KERNEL (-1)       /* unused lane of a mixed task */

/* ------------------------------------------------------------------------ */
/* Data types and scalar helpers                                             */
/* ------------------------------------------------------------------------ */

/* Element types.  The order is part of the ABI. */
typedef enum pto2_dtype {
  PTO2_FLOAT32 = 0,
  PTO2_FLOAT16 = 1,
  PTO2_INT32 = 2,
  PTO2_INT16 = 3,
  PTO2_INT8 = 4,
  PTO2_UINT8 = 5,
  PTO2_BFLOAT16 = 6,
  PTO2_INT64 = 7,
  PTO2_UINT64 = 8,
  PTO2_DTYPE_COUNT
} pto2_dtype;

/* Bytes per element; 0 for a value that is not a pto2_dtype. */
PTO2_API size_t pto2_dtype_size(pto2_dtype dtype);
/* "float32", "bfloat16", ...; "invalid" for a value that is not a pto2_dtype. */
PTO2_API const char *pto2_dtype_name(pto2_dtype dtype);

/* Scalars travel as uint64_t; a value of fewer than 8 bytes occupies the low
 * bytes (bit copy, no numeric conversion). */
#ifndef PTO2_NO_INLINE
PTO2_INLINE uint64_t pto2_u64_from_f32(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
PTO2_INLINE float pto2_f32_from_u64(uint64_t bits) {
  uint32_t u = (uint32_t)bits;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
PTO2_INLINE uint64_t pto2_u64_from_i32(int32_t i) { return (uint32_t)i; }
PTO2_INLINE int32_t pto2_i32_from_u64(uint64_t bits) { return (int32_t)(uint32_t)bits; }

/* bfloat16: the upper half of a float32. */
PTO2_INLINE float pto2_bf16_to_f32(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
/* Round to nearest, ties to even; NaN stays NaN. */
PTO2_INLINE uint16_t pto2_f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
#endif /* !PTO2_NO_INLINE */
/* IEEE 754 binary16 conversions (round to nearest, ties to even). */
PTO2_API float pto2_fp16_to_f32(uint16_t h);
PTO2_API uint16_t pto2_f32_to_fp16(float f);

/* ------------------------------------------------------------------------ */
/* Task ids                                                                  */
/* ------------------------------------------------------------------------ */

/* Identifies one submitted task: ring + 1 in the top 8 bits, a per-ring
 * 56-bit sequence number below.  Ids are never reused within a runtime, and
 * no issued id is zero: a zero-initialised id, like PTO2_TASK_ID_INVALID,
 * is not valid, and giving it as a producer fails the submit. */
typedef struct pto2_task_id {
  uint64_t raw;
} pto2_task_id;

#ifdef __cplusplus
#define PTO2_TASK_ID_INVALID (pto2_task_id{UINT64_MAX})
#else
#define PTO2_TASK_ID_INVALID ((pto2_task_id){UINT64_MAX})
#endif

#ifndef PTO2_NO_INLINE
PTO2_INLINE bool pto2_task_id_is_valid(pto2_task_id id) {
  return id.raw != UINT64_MAX && (id.raw >> 56) != 0;
}
/* The ring of an issued id (garbage, >= PTO2_RING_COUNT, for an invalid one). */
PTO2_INLINE unsigned pto2_task_id_ring(pto2_task_id id) {
  return (unsigned)(id.raw >> 56) - 1u;
}
PTO2_INLINE uint64_t pto2_task_id_local(pto2_task_id id) {
  return id.raw & ((UINT64_C(1) << 56) - 1);
}
PTO2_INLINE bool pto2_task_id_eq(pto2_task_id a, pto2_task_id b) { return a.raw == b.raw; }
#endif /* !PTO2_NO_INLINE */

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A tensor is a row-major view into one allocation.  `raw_shapes` is the
 * shape of the underlying layout, `shapes` the shape of the view and
 * `offsets` the view's origin within `raw_shapes`, all in elements.  Two
 * tensors with the same `addr` are views of one allocation; the runtime finds
 * dependencies between tasks whose views of one allocation overlap.
 *
 * Build tensors with the functions below; the struct is plain data that may
 * be copied freely.
 */
typedef struct pto2_tensor {
  void *addr;           /* read-only: base of the whole allocation (dependency key) */
  void *data;           /* read-only: first element of this view; kernels read here */
  uint64_t nbytes;      /* read-only: bytes of the whole allocation's elements (a created
                         * tensor's buffer is padded to 64 bytes; nbytes excludes it) */
  pto2_task_id owner;   /* read-only: task that created the allocation, or invalid */
  int32_t version;      /* public: a newer version always depends on older writers */
  uint8_t ndims;        /* read-only: rank, 1..PTO2_MAX_DIMS; 0 marks an invalid tensor */
  uint8_t dtype;        /* read-only: pto2_dtype */
  bool manual_dep;      /* public: true = never looked up or recorded in the TensorMap */
  uint32_t shapes[PTO2_MAX_DIMS];     /* read-only */
  uint32_t raw_shapes[PTO2_MAX_DIMS]; /* read-only */
  uint32_t offsets[PTO2_MAX_DIMS];    /* read-only */
} pto2_tensor;

/* A tensor over caller-owned memory (an "external" tensor: no owner task).
 * A zero extent, or a size of 2^48 bytes or more, gives an invalid tensor. */
PTO2_API pto2_tensor pto2_tensor_external(void *addr, const uint32_t *shapes, uint32_t ndims,
                                          pto2_dtype dtype);
/* A view of `t` with the same rank: shapes[d] elements starting at offsets[d]
 * (relative to `t`'s own origin).  Owner, version and allocation are
 * inherited; manual_dep is not (it is false).  A view that does not fit in
 * `t` is returned invalid (ndims == 0); submitting it fails with a message. */
PTO2_API pto2_tensor pto2_tensor_view(const pto2_tensor *t, const uint32_t *shapes,
                                      const uint32_t *offsets);
/* The same elements under a new shape.  `t` must be contiguous (every
 * dimension but the first spans its whole raw extent); otherwise, or if the
 * element counts differ, the result is invalid. */
PTO2_API pto2_tensor pto2_tensor_reshape(const pto2_tensor *t, const uint32_t *shapes,
                                         uint32_t ndims);
/* false for the result of a failed view/reshape or a zeroed struct. */
PTO2_API bool pto2_tensor_is_valid(const pto2_tensor *t);
/* Number of elements in the view. */
PTO2_API uint64_t pto2_tensor_numel(const pto2_tensor *t);

/* Element stride of dimension d (product of the raw extents after d). */
#ifndef PTO2_NO_INLINE
PTO2_INLINE uint64_t pto2_tensor_stride(const pto2_tensor *t, unsigned d) {
  uint64_t s = 1;
  for (unsigned i = d + 1; i < t->ndims; i++) s *= t->raw_shapes[i];
  return s;
}

/* 2-D convenience view: rows x cols at (row0, col0). */
PTO2_INLINE pto2_tensor pto2_tensor_view2(const pto2_tensor *t, uint32_t rows, uint32_t cols,
                                            uint32_t row0, uint32_t col0) {
  const uint32_t shapes[2] = {rows, cols};
  const uint32_t offsets[2] = {row0, col0};
  return pto2_tensor_view(t, shapes, offsets);
}
#endif /* !PTO2_NO_INLINE */

/* Describes a buffer the runtime allocates for a task's OUTPUT argument. */
typedef struct pto2_create_info {
  uint32_t shapes[PTO2_MAX_DIMS]; /* public */
  uint8_t ndims;                  /* public */
  uint8_t dtype;                  /* public: pto2_dtype */
  bool manual_dep;                /* public: copied to the created tensor */
  bool has_initial_value;         /* public: fill the buffer before the task runs */
  uint64_t initial_value;         /* public: raw bits of one element (low bytes) */
} pto2_create_info;

PTO2_API pto2_create_info pto2_create_info_make(const uint32_t *shapes, uint32_t ndims,
                                                pto2_dtype dtype);
#ifndef PTO2_NO_INLINE
PTO2_INLINE void pto2_create_info_set_initial(pto2_create_info *ci, uint64_t bits) {
  ci->has_initial_value = true;
  ci->initial_value = bits;
}
#endif /* !PTO2_NO_INLINE */

/* ------------------------------------------------------------------------ */
/* Task arguments                                                            */
/* ------------------------------------------------------------------------ */

typedef enum pto2_arg_kind {
  PTO2_ARG_INPUT = 0,           /* existing tensor, read */
  PTO2_ARG_OUTPUT = 1,          /* new buffer allocated by the runtime */
  PTO2_ARG_INOUT = 2,           /* existing tensor, read then written */
  PTO2_ARG_OUTPUT_EXISTING = 3, /* existing tensor, written only */
  PTO2_ARG_NO_DEP = 4           /* existing tensor passed through; creator only */
} pto2_arg_kind;

/*
 * The argument list of one submit.  Initialise with pto2_arg_init(), add
 * tensors first and scalars after them.  Builder errors are recorded (the
 * first one wins) and reported by the submit, which then fails.  The tensors
 * and create-infos added are referenced, not copied: they must stay alive
 * until the submit returns.  After a successful submit, pto2_arg_output()
 * returns the tensors created for the OUTPUT arguments, in the order added.
 */
typedef struct pto2_arg {
  const char *error;   /* private: first builder error, or NULL */
  uint16_t tensor_count, scalar_count, output_count, dep_count; /* private */
  uint16_t block_num;  /* private: SPMD blocks, default 1 */
  bool explicit_deps;  /* private: producers were given with pto2_arg_add_dep/set_deps */
  uint8_t kinds[PTO2_MAX_TENSOR_ARGS]; /* private */
  union {
    const pto2_tensor *tensor;
    const pto2_create_info *create;
  } refs[PTO2_MAX_TENSOR_ARGS];         /* private */
  pto2_task_id deps[PTO2_MAX_FANIN];    /* private: explicit producers */
  uint64_t scalars[PTO2_MAX_SCALAR_ARGS];        /* private */
  pto2_tensor outputs[PTO2_MAX_TENSOR_ARGS];     /* read-only after submit */
} pto2_arg;

#define PTO2__ARG_ERR_AFTER_SCALAR                                                   \
  "add_input/add_output/add_inout called after add_scalar: all tensors must be added " \
  "before any scalars"
#define PTO2__ARG_ERR_TOO_MANY_TENSORS "Too many tensor args (exceeds MAX_TENSOR_ARGS=16)"
#define PTO2__ARG_ERR_TOO_MANY_SCALARS "Too many scalar args (exceeds MAX_SCALAR_ARGS=128)"

#ifndef PTO2_NO_INLINE
PTO2_INLINE void pto2_arg_reset(pto2_arg *a) {
  if (!a) return;
  a->error = 0;
  a->tensor_count = a->scalar_count = a->output_count = a->dep_count = 0;
  a->explicit_deps = false;
}
PTO2_INLINE void pto2_arg_init(pto2_arg *a) {
  if (!a) return;
  pto2_arg_reset(a);
  a->block_num = 1;
}
static inline bool pto2__arg_check_tensor(pto2_arg *a) {
  if (!a || a->error) return false;
  if (a->scalar_count) a->error = PTO2__ARG_ERR_AFTER_SCALAR;
  else if (a->tensor_count >= PTO2_MAX_TENSOR_ARGS) a->error = PTO2__ARG_ERR_TOO_MANY_TENSORS;
  return a->error == 0;
}
static inline void pto2__arg_add_tensor(pto2_arg *a, const pto2_tensor *t, pto2_arg_kind kind) {
  if (!pto2__arg_check_tensor(a)) return;
  a->kinds[a->tensor_count] = (uint8_t)kind;
  a->refs[a->tensor_count++].tensor = t;
}
PTO2_INLINE void pto2_arg_add_input(pto2_arg *a, const pto2_tensor *t) {
  pto2__arg_add_tensor(a, t, PTO2_ARG_INPUT);
}
PTO2_INLINE void pto2_arg_add_inout(pto2_arg *a, const pto2_tensor *t) {
  pto2__arg_add_tensor(a, t, PTO2_ARG_INOUT);
}
PTO2_INLINE void pto2_arg_add_output_existing(pto2_arg *a, const pto2_tensor *t) {
  pto2__arg_add_tensor(a, t, PTO2_ARG_OUTPUT_EXISTING);
}
PTO2_INLINE void pto2_arg_add_no_dep(pto2_arg *a, const pto2_tensor *t) {
  pto2__arg_add_tensor(a, t, PTO2_ARG_NO_DEP);
}
PTO2_INLINE void pto2_arg_add_output(pto2_arg *a, const pto2_create_info *ci) {
  if (!pto2__arg_check_tensor(a)) return;
  a->kinds[a->tensor_count] = (uint8_t)PTO2_ARG_OUTPUT;
  a->refs[a->tensor_count++].create = ci;
  a->output_count++;
}
PTO2_INLINE void pto2_arg_add_scalar(pto2_arg *a, uint64_t v) {
  if (!a || a->error) return;
  if (a->scalar_count >= PTO2_MAX_SCALAR_ARGS) {
    a->error = PTO2__ARG_ERR_TOO_MANY_SCALARS;
    return;
  }
  a->scalars[a->scalar_count++] = v;
}
#endif /* !PTO2_NO_INLINE */
/* Adds n scalars; all or none. */
PTO2_API void pto2_arg_add_scalars(pto2_arg *a, const uint64_t *v, uint32_t n);
/* Adds n int32 values, each zero-extended (-1 becomes 0x00000000FFFFFFFF). */
PTO2_API void pto2_arg_add_scalars_i32(pto2_arg *a, const int32_t *v, uint32_t n);
/* Adds src's scalars [off, off+n). */
PTO2_API void pto2_arg_copy_scalars_from(pto2_arg *a, const pto2_arg *src, uint32_t off,
                                         uint32_t n);
/* Explicit producers ("deps at submit"): the task also waits for each given
 * task (one that has already retired counts as finished).  Usable in every
 * scope mode.  In a MANUAL scope, a task submitted with explicit producers
 * (even none: pto2_arg_set_deps(a, NULL, 0)) is published at once instead of
 * at scope end, so it cannot be the consumer of a later
 * pto2_add_dependency(). */
PTO2_API void pto2_arg_add_dep(pto2_arg *a, pto2_task_id producer);
PTO2_API void pto2_arg_set_deps(pto2_arg *a, const pto2_task_id *producers, uint32_t n);
/* SPMD: run the task's kernels as `n` independent blocks (n >= 1). */
PTO2_API void pto2_arg_set_block_num(pto2_arg *a, uint32_t n);
/* The i-th tensor created for an OUTPUT argument by the last successful
 * submit of `a`; NULL if there is no such output. */
#ifndef PTO2_NO_INLINE
PTO2_INLINE const pto2_tensor *pto2_arg_output(const pto2_arg *a, unsigned i) {
  return a && i < a->output_count ? &a->outputs[i] : 0;
}
/* The builder error recorded so far, or NULL. */
PTO2_INLINE const char *pto2_arg_error(const pto2_arg *a) {
  return a ? a->error : "the argument list is NULL";
}
#endif /* !PTO2_NO_INLINE */

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum pto2_core_type { PTO2_CORE_AIC = 0, PTO2_CORE_AIV = 1 } pto2_core_type;

/* What a kernel sees.  tensors[i].data already points at the view origin. */
typedef struct pto2_kernel_ctx {
  const pto2_tensor *tensors; /* tensor arguments, in add order */
  const uint64_t *scalars;    /* scalar arguments, in add order */
  uint32_t tensor_count, scalar_count;
  int32_t block_idx, block_num; /* SPMD block of this invocation */
  int32_t sub_block_id;         /* 0 on a cluster's AIV0 core, 1 on AIV1; 0 on AIC */
  int32_t core_id;              /* simulated core: AIC 0..B-1, AIV B..3B-1 */
  pto2_task_id task_id;
  void *user;                   /* the pointer given at registration */
} pto2_kernel_ctx;

/* Returns 0 on success; anything else fails the run (PTO2_E_KERNEL_FAILED). */
typedef int (*pto2_kernel_fn)(const pto2_kernel_ctx *ctx);

/* Called by a kernel just before it returns non-zero: `message` (copied, up
 * to 255 bytes) ends the run's error message, "kernel 'NAME' (id N) returned
 * R in task RING:LOCAL, block B: message".  It applies to the calling
 * invocation only (`ctx` as received, on the thread that runs the kernel,
 * not a thread the kernel started); a kernel that then returns 0 leaves no
 * trace of it.  NULL arguments are ignored.  pto2::kernel<fn> passes a
 * C++ exception's what() this way. */
PTO2_API void pto2_kernel_set_error(const pto2_kernel_ctx *ctx, const char *message);

/* A task's kernels by lane; PTO2_NO_KERNEL marks an unused lane.  A task with
 * two or more lanes occupies a whole cluster while it runs. */
typedef struct pto2_mixed_kernels {
  int32_t aic, aiv0, aiv1;
} pto2_mixed_kernels;

/* ------------------------------------------------------------------------ */
/* Host side: runtime lifecycle                                              */
/* ------------------------------------------------------------------------ */

typedef struct pto2_runtime pto2_runtime;

typedef enum pto2_log_level {
  PTO2_LOG_DEFAULT = 0, /* PTO2_LOG_LEVEL from the environment, else INFO */
  PTO2_LOG_SILENT = 1,  /* nothing but PTO2_LOG_ALWAYS */
  PTO2_LOG_ERROR = 2,
  PTO2_LOG_WARN = 3,
  PTO2_LOG_INFO = 4,
  PTO2_LOG_DEBUG = 5,
  PTO2_LOG_ALWAYS = 6 /* a message level only: never filtered */
} pto2_log_level;

/* The hazard checker (pto2_config.hazard_check; README "Hazard checker"). */
typedef enum pto2_hazard_check {
  PTO2_HAZARD_CHECK_DEFAULT = 0, /* PTO2_CHECK from the environment, else OFF */
  PTO2_HAZARD_CHECK_OFF = 1,
  PTO2_HAZARD_CHECK_FAIL = 2, /* a run with a hazard fails with PTO2_E_HAZARD */
  PTO2_HAZARD_CHECK_WARN = 3, /* hazards are logged (warn) and listed; the run succeeds */
} pto2_hazard_check;
/* Memory hooks: every allocation of the runtime goes through them.  Set all
 * three or none (none: libc malloc, realloc and free).  `user` is passed
 * back.  An allocation that fails makes the call that needed it fail with
 * PTO2_E_NO_MEMORY (create, a run, tracing); nothing is leaked, and the
 * runtime stays usable where it exists. */
typedef struct pto2_allocator {
  void *(*malloc_fn)(size_t size, void *user);
  void *(*realloc_fn)(void *ptr, size_t size, void *user);
  void (*free_fn)(void *ptr, void *user);
  void *user;
} pto2_allocator;

/* pto2_config.worker_threads: no worker thread at all (0 there selects the
 * default).  The thread that calls pto2_run() runs every task, AIC, AIV,
 * mixed and SPMD alike, whenever it waits: at a full ring or dependency
 * pool, in a blocking data access and at the end of pto2_run().  A kernel
 * over kernel_timeout_ms still fails the run, but pto2_run() returns only
 * when that kernel does.  Not with workers_only (PTO2_E_INVALID_CONFIG).
 * The configuration in effect (pto2_runtime_get_config) says 0. */
#define PTO2_WORKERS_NONE UINT32_MAX

/* Zero in any field selects its default. */
typedef struct pto2_config {
  uint32_t block_dim;         /* clusters of 1 AIC + 2 AIV; default 24 */
  uint32_t worker_threads;    /* executor threads besides the caller; default CPUs - 1, >= 1;
                               * at most block_dim - 1 (larger values are reduced: each
                               * executor needs a cluster of its own); PTO2_WORKERS_NONE:
                               * none, the caller runs every task */
  uint32_t task_window;       /* tasks in flight per ring, power of two >= 4; default 4096 */
  uint64_t heap_size;         /* output bytes per ring, power of two >= 1024; default 64 MiB */
  uint32_t dep_pool;          /* dependency entries per ring, >= 4; default 16384 */
  uint32_t stall_timeout_ms;  /* no progress while work is pending; default 10000 */
  uint32_t kernel_timeout_ms; /* one kernel invocation; default 60000 */
  pto2_log_level log_level;
  pto2_hazard_check hazard_check; /* default OFF (or PTO2_CHECK) */
  /* true: every AUTO scope orders write-after-read and write-after-write
   * too, like PTO2_SCOPE_AUTO_STRICT (PTO2_AUTO_STRICT=1) */
  bool auto_strict;
  /* false (default): while pto2_run() waits, the calling thread runs ready
   * tasks itself, and a kernel it runs delays pto2_run()'s return until the
   * kernel returns (a kernel over kernel_timeout_ms still fails the run).
   * true: kernels run only on worker threads, so pto2_run() returns within
   * kernel_timeout_ms (plus a small bound) of a kernel that never returns. */
  bool workers_only;
  pto2_allocator allocator;   /* default: libc */
} pto2_config;

/* Environment overrides, applied by pto2_runtime_create() over the config:
 * PTO2_RING_TASK_WINDOW, PTO2_RING_HEAP, PTO2_RING_DEP_POOL, PTO2_LOG_LEVEL
 * (silent|error|warn|info|debug); where the field is left at its default,
 * PTO2_CHECK (1|warn|0) and PTO2_AUTO_STRICT (1|0).  An invalid value fails the create with
 * PTO2_E_INVALID_CONFIG and a message on stderr. */
PTO2_API int pto2_runtime_create(const pto2_config *cfg, pto2_runtime **out) PTO2_WARN_UNUSED;
/* Stops the executor threads and frees everything.  NULL is ignored.
 * Inside a run it does nothing and fails the run (PTO2_E_BUSY).  The handle
 * is invalid afterwards (see "Lifetime" above). */
PTO2_API void pto2_runtime_destroy(pto2_runtime *rt);
/* The configuration in effect (defaults and environment applied;
 * worker_threads reduced to block_dim - 1 if it was larger).  Does nothing
 * if either pointer is NULL. */
PTO2_API void pto2_runtime_get_config(const pto2_runtime *rt, pto2_config *out);

/* Registers `fn` under `kernel_id` for lanes of `type`.  `name` (required)
 * is copied and appears in errors and traces.  Each id is registered once
 * per runtime.  Returns 0, or PTO2_E_INVALID_ARGS with a message (id out of
 * range or already registered, unknown type, NULL name or function); inside
 * pto2_run() it fails the run. */
PTO2_API int pto2_kernel_register(pto2_runtime *rt, int32_t kernel_id, pto2_core_type type,
                                  const char *name, pto2_kernel_fn fn,
                                  void *user) PTO2_WARN_UNUSED;

typedef struct pto2_run_stats {
  uint64_t tasks;      /* tasks submitted */
  uint64_t edges;      /* distinct producer -> consumer pairs recorded */
  uint64_t orch_ns;    /* time spent in the orchestration function */
  uint64_t elapsed_ns; /* orchestration start to completion of the last task */
  uint32_t ring_task_high_water[PTO2_RING_COUNT]; /* most tasks in flight */
  uint64_t ring_heap_high_water[PTO2_RING_COUNT]; /* most output bytes live */
  uint32_t ring_dep_high_water[PTO2_RING_COUNT];  /* most dependency entries live */
  uint64_t hazard_check_bytes; /* memory the hazard checker used (0 when it is off) */
  /* Time the orchestrator waited for room in each ring: [ring][0] a task
   * slot, [1] heap bytes, [2] dependency entries. */
  uint64_t orch_blocked_ns[PTO2_RING_COUNT][3];
  /* Filled only when the run was recorded (pto2_trace_enable), else 0: */
  uint64_t edges_by_reason[4];  /* by pto2_edge_reason bit, in bit order; an edge with
                                   several reasons counts under each */
  uint64_t tmap_lookups;        /* TensorMap lookups (INPUT / INOUT arguments) */
  uint64_t tmap_overlap_checks; /* entries compared with a looked-up region */
  uint64_t tmap_chain_max;      /* most entries one lookup examined */
  uint64_t busy_ns;             /* kernel time summed over every core */
  uint64_t critical_path_ns;    /* longest dependency chain of kernel time */
  uint64_t trace_dropped;       /* records that did not fit: see pto2_trace_dropped() */
} pto2_run_stats;

typedef void (*pto2_orchestration_fn)(pto2_runtime *rt, void *arg);

/* Runs `fn(rt, arg)` on the calling thread inside a root AUTO scope and
 * returns when every submitted task has finished.  Returns 0 or the run's
 * first error.  `stats` may be NULL.  While waiting, the calling thread runs
 * ready tasks itself unless the config sets workers_only.  A kernel that
 * runs longer than kernel_timeout_ms fails the run with PTO2_E_TIMEOUT,
 * whichever thread runs it; a worker stuck in such a kernel is replaced, so
 * the next run proceeds at once.  A NULL `fn` is PTO2_E_INVALID_ARGS;
 * PTO2_E_BUSY if a stuck worker of an earlier run could not be replaced
 * (out of memory or threads; the next call retries); called from inside a
 * run it fails that run with PTO2_E_BUSY.  Each is recorded with a
 * message.
 *
 * Leaving `fn` other than by returning:
 * - A C++ exception thrown by `fn` fails the run with PTO2_E_ABORTED: the
 *   run's tasks are drained or dropped, the runtime stays usable, and the
 *   exception propagates to pto2_run()'s caller.  (Kernels must not throw:
 *   a kernel runs on an executor thread, where an exception terminates the
 *   program.)
 * - longjmp() out of `fn` is not supported: it skips the end of the run, the
 *   runtime stays "in a run" for ever (every later pto2_run answers
 *   PTO2_E_BUSY and pto2_runtime_destroy refuses and leaks it), and tasks may
 *   still be running on the executors.  To stop a run early, call
 *   pto2_abort_run() and return from `fn`. */
PTO2_API int pto2_run(pto2_runtime *rt, pto2_orchestration_fn fn, void *arg,
                      pto2_run_stats *stats);

/* Tracing (recording).  While enabled, each run records every kernel
 * invocation, every task, edge (with its reasons) and lifetime hold, the
 * orchestrator's scopes, submits and waits, and counter samples, in
 * buffers sized from `max_events` (pto2_trace_enable_opts() in
 * pto2/observe.h sizes them one by one; what does not fit is counted:
 * pto2_trace_dropped()).
 * pto2_trace_write() writes the last run's trace as Chrome / Perfetto JSON
 * (chrome://tracing, ui.perfetto.dev); include/pto2/observe.h has the
 * dependency graph and the statistics.  Off by default; when off, the
 * runtime pays one predictable branch per submit, kernel invocation and
 * task made ready.  max_events must be 1 .. 1 << 28.  Failures (max_events
 * out of range, NULL path, tracing not enabled, the file cannot be written:
 * PTO2_E_SYSTEM) are recorded with a message; inside a run these calls fail
 * the run (pto2_trace_disable does nothing there). */
PTO2_API int pto2_trace_enable(pto2_runtime *rt, uint32_t max_events) PTO2_WARN_UNUSED;
PTO2_API void pto2_trace_disable(pto2_runtime *rt);
PTO2_API int pto2_trace_write(const pto2_runtime *rt, const char *path) PTO2_WARN_UNUSED;

/* Error code of the current run, or between runs of the last failing call
 * or run; 0 if none.  PTO2_E_INVALID_ARGS for a NULL runtime. */
PTO2_API int pto2_error_code(const pto2_runtime *rt);
/* Message of that error ("" if none).  Published with the code: a thread
 * that sees the code may read it at once.  Valid until the next run starts
 * or the next failing call. */
PTO2_API const char *pto2_error_message(const pto2_runtime *rt);

/* ------------------------------------------------------------------------ */
/* Orchestration side                                                        */
/* ------------------------------------------------------------------------ */

typedef enum pto2_scope_mode {
  /* Every dependency is found from the tensors (creator + TensorMap). */
  PTO2_SCOPE_AUTO = 0,
  /* Dependencies between tasks of this scope are declared explicitly
   * (pto2_add_dependency, or producers attached to the args) and skip the
   * TensorMap; dependencies on tasks outside the scope are still found from
   * the tensors.  Tasks are submitted with pto2_submit_*_manual and, unless
   * they carry explicit producers, are published when the scope ends.  Only
   * MANUAL scopes may be opened inside a MANUAL scope; a tensor created in an
   * enclosing MANUAL scope is a boundary tensor of the inner one. */
  PTO2_SCOPE_MANUAL = 1,
  /* Explicit graph: plain submits find no dependencies at all (no TensorMap,
   * no creator); edges come only from pto2_add_dependency and explicit
   * producers, between any tasks of this or earlier scopes.  Tasks are
   * published when their scope ends. */
  PTO2_SCOPE_GRAPH = 2,
  /* AUTO that also orders write-after-read and write-after-write: a task
   * that writes (INOUT, OUTPUT_EXISTING) waits for earlier readers (INPUT)
   * of overlapping regions recorded in strict scopes, and OUTPUT_EXISTING
   * waits for earlier writers; so the scope's tasks have the result of
   * sequential execution without explicit edges.  AUTO scopes nested in it
   * are strict too; pto2_config.auto_strict makes every AUTO scope strict.
   * Readers are recorded only here, so a writer in a plain AUTO scope does
   * not wait for them. */
  PTO2_SCOPE_AUTO_STRICT = 3,
} pto2_scope_mode;

/* Scopes own the lifetime of the tasks submitted in them: a task's output
 * buffers may be reused once its scope has ended, it has finished and all its
 * consumers have finished.  Use a created tensor only inside the scope that
 * created it (or a nested one). */
PTO2_API int pto2_scope_begin(pto2_runtime *rt, pto2_scope_mode mode);
PTO2_API int pto2_scope_end(pto2_runtime *rt);

/* Submits a task whose lanes run the given kernels.  Returns its id, or
 * PTO2_TASK_ID_INVALID if the run has failed (this call's error or an
 * earlier one).  On success the created tensors are in pto2_arg_output().
 * A NULL `a`, an invalid explicit producer (never issued, zero, or the
 * task's own id) or any other bad argument fails the run with
 * PTO2_E_INVALID_ARGS; outside a run the call records PTO2_E_INVALID_ARGS. */
PTO2_API pto2_task_id pto2_submit_task(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a);
PTO2_API pto2_task_id pto2_submit_aic(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a);
PTO2_API pto2_task_id pto2_submit_aiv(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a);

/* Submits inside a MANUAL scope (see PTO2_SCOPE_MANUAL). */
PTO2_API pto2_task_id pto2_submit_task_manual(pto2_runtime *rt, pto2_mixed_kernels mk,
                                              pto2_arg *a);
PTO2_API pto2_task_id pto2_submit_aic_manual(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a);
PTO2_API pto2_task_id pto2_submit_aiv_manual(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a);

/* Makes `consumer` wait for `producer`.  In a MANUAL scope both must be
 * tasks of the current scope and the consumer not yet published; in a GRAPH
 * scope the producer may be any earlier task (running, finished or
 * retired) and the consumer any unpublished task of an open GRAPH scope.
 * Duplicate edges are ignored.  Returns 0 or the run's error. */
PTO2_API int pto2_add_dependency(pto2_runtime *rt, pto2_task_id producer,
                                 pto2_task_id consumer);

/* Blocking element access: waits until the tensor's producers (its creator
 * and every earlier task that wrote an overlapping region) have finished;
 * set_tensor_data also waits until those producers' consumers, and every
 * earlier-submitted task with a tensor argument overlapping `t`, have
 * finished (tasks held back in an enclosing GRAPH scope excepted: they
 * cannot start before it ends).  `indices` has t->ndims entries, relative
 * to the view.  The value travels as raw bits in the low bytes of a
 * uint64_t; `bits` must not be NULL.  Errors (NULL or invalid tensor,
 * indices or bits, an index out of range, a MANUAL/GRAPH innermost scope)
 * fail the run with PTO2_E_INVALID_ARGS. */
PTO2_API int pto2_get_tensor_data(pto2_runtime *rt, const pto2_tensor *t,
                                  const uint32_t *indices, uint64_t *bits);
PTO2_API int pto2_set_tensor_data(pto2_runtime *rt, const pto2_tensor *t,
                                  const uint32_t *indices, uint64_t bits);

/* ------------------------------------------------------------------------ */
/* Hazard checker                                                            */
/* ------------------------------------------------------------------------ */

/*
 * With pto2_config.hazard_check (or PTO2_CHECK=1 / PTO2_CHECK=warn), each
 * run records every task's accesses and the realized dependency graph, and
 * at its end reports every pair of conflicting accesses (same elements, at
 * least one a write) that no path of dependency edges orders.  The verdict
 * depends only on the program and its edges, never on timing.  The hazards
 * of the last run stay available until the next run starts.
 */
typedef enum pto2_hazard_kind {
  PTO2_HAZARD_RAW = 0, /* the later access reads what the earlier one writes */
  PTO2_HAZARD_WAR = 1, /* the later access overwrites what the earlier one reads */
  PTO2_HAZARD_WAW = 2, /* both write */
} pto2_hazard_kind;

/* One side of a hazard: a task's tensor argument, or a blocking data access
 * by the orchestrator (task invalid, kernel "orchestrator"). */
typedef struct pto2_hazard_access {
  pto2_task_id task;
  char kernel[64];               /* kernel name(s), lanes joined by '+' */
  pto2_scope_mode scope_mode;
  uint32_t scope_depth;          /* 0: the run's root scope */
  uint8_t arg_kind;              /* pto2_arg_kind (get: INPUT, set: OUTPUT_EXISTING) */
  uint8_t arg_index;
  bool manual_dep;
  uint8_t ndims;
  uint32_t offsets[PTO2_MAX_DIMS];    /* the view's origin in its raw layout */
  uint32_t shapes[PTO2_MAX_DIMS];     /* the view's extent */
  uint32_t raw_shapes[PTO2_MAX_DIMS]; /* the raw layout */
  uint32_t scope_seq;            /* the scope's number in the run, in opening order (root: 0) */
} pto2_hazard_access;

typedef struct pto2_hazard {
  pto2_hazard_kind kind;
  /* true: the views have different layouts and too many pieces to compare
   * element by element; their byte ranges overlap, their elements may not. */
  bool possible;
  const void *addr;     /* the allocation */
  uint64_t nbytes;
  pto2_task_id owner;   /* its creator; invalid for caller memory */
  pto2_hazard_access first, second; /* in program order */
  const char *cause;    /* the likely cause, one sentence */
} pto2_hazard;

/* Hazards of the current (or last) checked run, in program order of their
 * first access, then of their second (a missing edge before what it leaves
 * unordered downstream). */
PTO2_API uint32_t pto2_hazard_count(const pto2_runtime *rt);
/* The i-th hazard, or NULL.  Valid until the next run starts. */
PTO2_API const pto2_hazard *pto2_hazard_get(const pto2_runtime *rt, uint32_t i);
/* One-line description, snprintf-style: returns the length it needed. */
PTO2_API int pto2_hazard_format(const pto2_hazard *h, char *buf, size_t size);
/* For language bindings: the names this runtime's own hazard texts use —
 * the lines PTO2_HAZARD_CHECK_WARN logs and the PTO2_E_HAZARD error
 * message (not pto2_hazard_format's or pto2_hazard.cause, which take no
 * runtime).  `pairs` holds `count` {name, replacement} pairs, 2 * count
 * strings: every whole-word occurrence of a name (neither side continued by
 * a letter, digit or '_') is replaced, the first pair that matches at a
 * position winning.  The strings are copied; count 0 restores the C names.
 * Between runs only (PTO2_E_BUSY during pto2_run); a NULL or empty name is
 * PTO2_E_INVALID_ARGS.  The Python package sets its calls' names
 * (Orchestrator.add_dependency for pto2_add_dependency, ...) for the runs of
 * Python orchestration functions. */
PTO2_API int pto2_hazard_set_names(pto2_runtime *rt, const char *const *pairs, uint32_t count);

/* True once the run has failed (or rt is NULL); orchestration loops may
 * poll it to stop. */
PTO2_API bool pto2_is_fatal(const pto2_runtime *rt);

/* Fails the current run with PTO2_E_ABORTED and `message` (unless it has
 * already failed): later orchestration calls return at once, and pto2_run()
 * drops the run's remaining tasks and returns the code.  The orchestration
 * function should return soon after.  Call it from the orchestration
 * function (a kernel fails the run by returning non-zero).  Returns the
 * run's error code; PTO2_E_INVALID_ARGS outside a run. */
PTO2_API int pto2_abort_run(pto2_runtime *rt, const char *message);

/* pto2_abort_run() with the code: fails the current run with `code`, a
 * PTO2_E_* error code, and `message` (unless it has already failed), for an
 * orchestration or a language binding that found an error of a known kind
 * itself (the Python package's argument checks: PTO2_E_INVALID_ARGS).
 * pto2_run() returns the code and pto2_error_message() the message.  A
 * `code` that is not a PTO2_E_* code fails the run with PTO2_E_INVALID_ARGS
 * naming it.  Returns the run's error code; PTO2_E_INVALID_ARGS outside a
 * run. */
PTO2_API int pto2_fail_run(pto2_runtime *rt, int code, const char *message);

/* Logs at `level` (filtered by the runtime's log level) to stderr. */
PTO2_API void pto2_log(const pto2_runtime *rt, pto2_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * PTO2_SCOPE(rt, mode) { ... } opens a scope for the block and closes it on
 * every way out of the block (end, break, continue, return, goto).  Note that
 * `break`/`continue` directly inside the block leave the scope block, not an
 * enclosing loop.  If the scope cannot be opened (the run has failed) the
 * block is skipped.
 */
typedef struct pto2__scope_guard {
  pto2_runtime *rt;
  int open;
} pto2__scope_guard;
PTO2_API pto2__scope_guard pto2__scope_guard_enter(pto2_runtime *rt, pto2_scope_mode mode);
PTO2_API void pto2__scope_guard_leave(pto2__scope_guard *g);

#define PTO2__CAT2(a, b) a##b
#define PTO2__CAT(a, b) PTO2__CAT2(a, b)
#define PTO2__GUARD PTO2__CAT(pto2__scope_guard_, __LINE__)
#define PTO2_SCOPE(rt, mode)                                                           \
  for (pto2__scope_guard PTO2__GUARD __attribute__((cleanup(pto2__scope_guard_leave))) = \
           pto2__scope_guard_enter((rt), (mode));                                      \
       PTO2__GUARD.open; pto2__scope_guard_leave(&PTO2__GUARD))

/* ------------------------------------------------------------------------ */
/* Stable ABI for foreign-function interfaces                                */
/* ------------------------------------------------------------------------ */

/* A heap-allocated, initialised argument list (NULL when out of memory);
 * free it with pto2_arg_destroy(). */
PTO2_API pto2_arg *pto2_arg_create(void);
PTO2_API void pto2_arg_destroy(pto2_arg *a);
/* PTO2_TASK_ID_INVALID as a function. */
PTO2_API pto2_task_id pto2_task_id_invalid(void);
/* sizeof of an ABI struct by name ("pto2_tensor", "pto2_config", ...; the
 * list in the ABI comment at the top, plus "pto2_arg"); 0 for another name.
 * Lets an FFI check its mirror of a layout. */
PTO2_API size_t pto2_abi_struct_size(const char *name);

#ifdef PTO2_NO_INLINE
/* The exported versions of the PTO2_INLINE functions. */
PTO2_API uint64_t pto2_u64_from_f32(float f);
PTO2_API float pto2_f32_from_u64(uint64_t bits);
PTO2_API uint64_t pto2_u64_from_i32(int32_t i);
PTO2_API int32_t pto2_i32_from_u64(uint64_t bits);
PTO2_API float pto2_bf16_to_f32(uint16_t h);
PTO2_API uint16_t pto2_f32_to_bf16(float f);
PTO2_API bool pto2_task_id_is_valid(pto2_task_id id);
PTO2_API unsigned pto2_task_id_ring(pto2_task_id id);
PTO2_API uint64_t pto2_task_id_local(pto2_task_id id);
PTO2_API bool pto2_task_id_eq(pto2_task_id a, pto2_task_id b);
PTO2_API uint64_t pto2_tensor_stride(const pto2_tensor *t, unsigned d);
PTO2_API pto2_tensor pto2_tensor_view2(const pto2_tensor *t, uint32_t rows, uint32_t cols,
                                       uint32_t row0, uint32_t col0);
PTO2_API void pto2_create_info_set_initial(pto2_create_info *ci, uint64_t bits);
PTO2_API void pto2_arg_reset(pto2_arg *a);
PTO2_API void pto2_arg_init(pto2_arg *a);
PTO2_API void pto2_arg_add_input(pto2_arg *a, const pto2_tensor *t);
PTO2_API void pto2_arg_add_inout(pto2_arg *a, const pto2_tensor *t);
PTO2_API void pto2_arg_add_output_existing(pto2_arg *a, const pto2_tensor *t);
PTO2_API void pto2_arg_add_no_dep(pto2_arg *a, const pto2_tensor *t);
PTO2_API void pto2_arg_add_output(pto2_arg *a, const pto2_create_info *ci);
PTO2_API void pto2_arg_add_scalar(pto2_arg *a, uint64_t v);
PTO2_API const pto2_tensor *pto2_arg_output(const pto2_arg *a, unsigned i);
PTO2_API const char *pto2_arg_error(const pto2_arg *a);
#endif

#ifdef __cplusplus
}
#endif

#include "pto2/observe.h"

#endif /* PTO2_H */
