/*
 * Host side: configuration, runtime create/destroy, kernel registry, runs,
 * errors and logging.
 */
#include "runtime.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orch/orch_internal.h"
#include "util/check.h"
#include "platform/clock.h"
#include "util/alloc.h"
#include "util/log.h"

enum {
  DEFAULT_BLOCK_DIM = 24,
  DEFAULT_TASK_WINDOW = 4096,
  DEFAULT_DEP_POOL = 16384,
  DEFAULT_STALL_TIMEOUT_MS = 10000,
  DEFAULT_KERNEL_TIMEOUT_MS = 60000,
  MAX_BLOCK_DIM = 1024,
  MAX_WORKERS = 256,
  MAX_TASK_WINDOW = 1u << 24,
  TMAP_BUCKETS = 4096,
  TMAP_INITIAL_ENTRIES = 16384,
  TMAP_INITIAL_READERS = 1024, /* grows on demand: only strict AUTO records readers */
};
#define DEFAULT_HEAP_SIZE (UINT64_C(64) << 20)

/* ------------------------------------------------------------------------ */
/* Errors and logging                                                        */
/* ------------------------------------------------------------------------ */

int pto2__fail(pto2_runtime *rt, int code, const char *fmt, ...) {
  char msg[sizeof rt->error_msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int expected = 0;
  /* The claim makes this call the run's first error; everything that stops
   * on an error reads `error`, so it is set before the message is copied.
   * The message is published by the release store of error_msg_ready
   * after the copy; pto2_error_message() acquires it, so a reader never
   * sees a half-written message. */
  if (atomic_compare_exchange_strong_explicit(&rt->error, &expected, code,
                                              memory_order_acq_rel, memory_order_acquire)) {
    memcpy(rt->error_msg, msg, sizeof msg);
    atomic_store_explicit(&rt->error_msg_ready, 1, memory_order_release);
    pto2__log(rt->cfg.log_level, PTO2_LOG_ERROR, "%s (%s)", msg, pto2_err_name(code));
    /* Release: the message before the stop (bit 0; the generation stays). */
    atomic_fetch_or_explicit(&rt->abort, 1u, memory_order_release);
    pto2__ec_wake(&rt->progress_ec);
  } else {
    pto2__log(rt->cfg.log_level, PTO2_LOG_DEBUG, "after the first error: %s", msg);
  }
  return code;
}

int pto2__host_fail(pto2_runtime *rt, int code, const char *fmt, ...) {
  char msg[sizeof rt->error_msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (rt->in_run) return pto2__fail(rt, code, "%s", msg);
  /* Between runs no executor records errors: plain stores, ordered as in
   * pto2__fail for a reader on another thread. */
  atomic_store_explicit(&rt->error_msg_ready, 0, memory_order_relaxed);
  atomic_store_explicit(&rt->error, code, memory_order_relaxed);
  memcpy(rt->error_msg, msg, sizeof msg);
  atomic_store_explicit(&rt->error_msg_ready, 1, memory_order_release);
  pto2__log(rt->cfg.log_level, PTO2_LOG_ERROR, "%s (%s)", msg, pto2_err_name(code));
  return code;
}

int pto2__internal_error(pto2_runtime *rt, const char *rule, const char *what, const char *file,
                         int line) {
  return pto2__fail(rt, PTO2_E_INTERNAL,
                    "internal error: invariant %s violated (%s) at %s:%d; this is a pto2 bug, "
                    "please report it",
                    rule, what, file, line);
}

int pto2_error_code(const pto2_runtime *rt) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  return atomic_load_explicit(&((pto2_runtime *)rt)->error, memory_order_relaxed);
}

const char *pto2_error_message(const pto2_runtime *rt) {
  if (!rt) return "pto2_error_message: runtime is NULL";
  pto2_runtime *m = (pto2_runtime *)rt;
  if (!atomic_load_explicit(&m->error, memory_order_relaxed)) return "";
  /* The code is claimed before the message is copied (pto2__fail): wait
   * for the copy, a few hundred bytes, then read it (acquire pairs with
   * the release store after the copy). */
  while (!atomic_load_explicit(&m->error_msg_ready, memory_order_acquire)) sched_yield();
  return m->error_msg;
}

void pto2_log(const pto2_runtime *rt, pto2_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (fmt) pto2__logv(rt ? rt->cfg.log_level : PTO2_LOG_INFO, level, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Live runtimes (PTO2_DEBUG_CHECKS builds)                                  */
/* ------------------------------------------------------------------------ */

/* Debug builds remember every runtime between create and destroy, so a
 * host call on a destroyed handle is reported instead of touching freed
 * memory.  The table holds addresses only and is never dereferenced; a
 * handle whose address a later create reuses passes (that is why use after
 * destroy stays undefined in the API). */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static const pto2_runtime **live;
static size_t live_count, live_cap;

void pto2__runtime_remember(const pto2_runtime *rt) {
  if (!pto2__debug_checks_enabled) return;
  pthread_mutex_lock(&live_lock);
  if (live_count == live_cap) {
    size_t cap = live_cap ? live_cap * 2 : 16;
    const pto2_runtime **grown = realloc(live, cap * sizeof *grown);
    if (grown) {
      live = grown;
      live_cap = cap;
    }
  }
  if (live_count < live_cap) live[live_count++] = rt;
  pthread_mutex_unlock(&live_lock);
}

void pto2__runtime_forget(const pto2_runtime *rt) {
  if (!pto2__debug_checks_enabled) return;
  pthread_mutex_lock(&live_lock);
  for (size_t i = 0; i < live_count; i++)
    if (live[i] == rt) {
      live[i] = live[--live_count];
      break;
    }
  pthread_mutex_unlock(&live_lock);
}

bool pto2__runtime_live(const pto2_runtime *rt, const char *api) {
  if (!pto2__debug_checks_enabled) return true;
  bool found = false;
  pthread_mutex_lock(&live_lock);
  for (size_t i = 0; i < live_count && !found; i++) found = live[i] == rt;
  pthread_mutex_unlock(&live_lock);
  if (!found)
    pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ALWAYS,
              "%s: runtime %p was destroyed (or never created by pto2_runtime_create); using "
              "it is undefined behaviour, caught by this PTO2_DEBUG_CHECKS build",
              api, (const void *)rt);
  return found;
}

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* Reads a decimal environment override; 1 if present and valid, 0 if
 * absent, or fails with a message naming the variable. */
static int env_u64(const char *name, uint64_t min, bool pow2, uint64_t *out) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || *s == '-' || v < min || (pow2 && !is_pow2(v))) {
    pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR,
              "invalid %s=\"%s\": expected an integer >= %llu%s", name, s,
              (unsigned long long)min, pow2 ? " that is a power of two" : "");
    return PTO2_E_INVALID_CONFIG;
  }
  *out = v;
  return 1;
}

static int apply_env(pto2_config *c) {
  uint64_t v;
  int rc;
  if ((rc = env_u64("PTO2_RING_TASK_WINDOW", 4, true, &v)) < 0) return rc;
  if (rc) c->task_window = (uint32_t)(v > MAX_TASK_WINDOW ? MAX_TASK_WINDOW + 1 : v);
  if ((rc = env_u64("PTO2_RING_HEAP", 1024, true, &v)) < 0) return rc;
  if (rc) c->heap_size = v;
  if ((rc = env_u64("PTO2_RING_DEP_POOL", 4, false, &v)) < 0) return rc;
  if (rc) c->dep_pool = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
  const char *workers = getenv("PTO2_WORKERS");
  if (workers && *workers) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(workers, &end, 10);
    if (!strcmp(workers, "none")) {
      c->worker_threads = PTO2_WORKERS_NONE;
    } else if (errno || *end || *workers == '-' || n < 1 || n > MAX_WORKERS) {
      pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR,
                "invalid PTO2_WORKERS=\"%s\": expected none (the caller runs every task) or "
                "1..%u worker threads", workers, (unsigned)MAX_WORKERS);
      return PTO2_E_INVALID_CONFIG;
    } else {
      c->worker_threads = (uint32_t)n;
    }
  }
  const char *chk = getenv("PTO2_CHECK");
  if (chk && *chk && c->hazard_check == PTO2_HAZARD_CHECK_DEFAULT) {
    if (!strcmp(chk, "1") || !strcmp(chk, "fail")) c->hazard_check = PTO2_HAZARD_CHECK_FAIL;
    else if (!strcmp(chk, "warn")) c->hazard_check = PTO2_HAZARD_CHECK_WARN;
    else if (!strcmp(chk, "0") || !strcmp(chk, "off")) c->hazard_check = PTO2_HAZARD_CHECK_OFF;
    else {
      pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR,
                "invalid PTO2_CHECK=\"%s\": expected 1 (fail on a hazard), warn or 0", chk);
      return PTO2_E_INVALID_CONFIG;
    }
  }
  const char *strict = getenv("PTO2_AUTO_STRICT");
  if (strict && *strict && !c->auto_strict) {
    if (!strcmp(strict, "1")) c->auto_strict = true;
    else if (strcmp(strict, "0")) {
      pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR, "invalid PTO2_AUTO_STRICT=\"%s\": expected 1 or 0",
                strict);
      return PTO2_E_INVALID_CONFIG;
    }
  }
  const char *lvl = getenv("PTO2_LOG_LEVEL");
  /* Like the other overrides, a valid value replaces the config's level and
   * an invalid one fails the create, whatever the config says. */
  if (lvl && *lvl && pto2__log_level_parse(lvl, &c->log_level) != 0) {
    pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR,
              "invalid PTO2_LOG_LEVEL=\"%s\": expected silent, error, warn, info or debug", lvl);
    return PTO2_E_INVALID_CONFIG;
  }
  return 0;
}

static uint32_t default_workers(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return cpus > 1 ? (uint32_t)(cpus - 1) : 1;
}

static int config_error(const char *what) {
  pto2__log(PTO2_LOG_ERROR, PTO2_LOG_ERROR, "invalid configuration: %s", what);
  return PTO2_E_INVALID_CONFIG;
}

static void *libc_malloc(size_t n, void *user) {
  (void)user;
  return malloc(n);
}
static void *libc_realloc(void *p, size_t n, void *user) {
  (void)user;
  return realloc(p, n);
}
static void libc_free(void *p, void *user) {
  (void)user;
  free(p);
}

const pto2_allocator pto2__libc_allocator = {libc_malloc, libc_realloc, libc_free, 0};

static int resolve_config(const pto2_config *in, pto2_config *c) {
  if (in) *c = *in;
  else memset(c, 0, sizeof *c);
  pto2_allocator *a = &c->allocator;
  int hooks = !!a->malloc_fn + !!a->realloc_fn + !!a->free_fn;
  if (hooks == 0) *a = pto2__libc_allocator;
  else if (hooks != 3)
    return config_error("allocator: set malloc_fn, realloc_fn and free_fn, or none of them");
  int rc = apply_env(c);
  if (rc) return rc;
  if (!c->block_dim) c->block_dim = DEFAULT_BLOCK_DIM;
  if (c->worker_threads == PTO2_WORKERS_NONE) {
    if (c->workers_only)
      return config_error("workers_only needs a worker thread: it cannot be combined with "
                          "worker_threads = PTO2_WORKERS_NONE");
    c->worker_threads = 0; /* the caller is the only executor */
  } else if (!c->worker_threads) {
    c->worker_threads = default_workers();
  }
  if (!c->task_window) c->task_window = DEFAULT_TASK_WINDOW;
  if (!c->heap_size) c->heap_size = DEFAULT_HEAP_SIZE;
  if (!c->dep_pool) c->dep_pool = DEFAULT_DEP_POOL;
  if (!c->stall_timeout_ms) c->stall_timeout_ms = DEFAULT_STALL_TIMEOUT_MS;
  if (!c->kernel_timeout_ms) c->kernel_timeout_ms = DEFAULT_KERNEL_TIMEOUT_MS;
  if (c->log_level == PTO2_LOG_DEFAULT) c->log_level = PTO2_LOG_INFO;
  if (c->hazard_check == PTO2_HAZARD_CHECK_DEFAULT) c->hazard_check = PTO2_HAZARD_CHECK_OFF;
  if (c->hazard_check > PTO2_HAZARD_CHECK_WARN) return config_error("hazard_check out of range");
  if (c->block_dim > MAX_BLOCK_DIM) return config_error("block_dim must be 1..1024");
  if (c->worker_threads > MAX_WORKERS)
    return config_error("worker_threads must be 1..256 or PTO2_WORKERS_NONE");
  if (c->task_window < 4 || c->task_window > MAX_TASK_WINDOW || !is_pow2(c->task_window))
    return config_error("task_window must be a power of two in 4..16777216");
  if (c->heap_size < 1024 || !is_pow2(c->heap_size))
    return config_error("heap_size must be a power of two >= 1024");
  if (c->dep_pool < 4) return config_error("dep_pool must be >= 4");
  if (c->log_level > PTO2_LOG_DEBUG) return config_error("log_level out of range");
  /* Every executor needs a cluster of its own; the caller is executor 0
   * (it has none if it never runs kernels). */
  uint32_t max_workers = c->workers_only ? c->block_dim : c->block_dim - 1;
  if (c->worker_threads > max_workers) c->worker_threads = max_workers;
  /* (workers_only: block_dim >= 1 leaves at least one worker.) */
  return 0;
}

void pto2_runtime_get_config(const pto2_runtime *rt, pto2_config *out) {
  if (!rt || !out || !pto2__runtime_live(rt, "pto2_runtime_get_config")) return;
  *out = rt->cfg;
}

/* ------------------------------------------------------------------------ */
/* Create / destroy                                                          */
/* ------------------------------------------------------------------------ */

/* Splits the clusters over the executors as evenly as possible. */
static void assign_clusters(pto2_runtime *rt) {
  uint32_t first = rt->cfg.workers_only ? 1 : 0; /* executors that run kernels */
  uint32_t n = rt->executor_count - first, b = rt->cfg.block_dim, next = 0;
  for (uint32_t i = 0; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    ex->rt = rt;
    ex->index = i;
    ex->cluster_first = next;
    ex->cluster_count = i < first ? 0 : b / n + (i - first < b % n);
    next += ex->cluster_count;
  }
}

static const char *kernel_name(void *ctx, int32_t id) {
  const pto2_runtime *rt = ctx;
  return id >= 0 && id < PTO2_MAX_KERNELS ? rt->kernels[id].name : "";
}

static int create_structures(pto2_runtime *rt) {
  for (uint8_t i = 0; i < PTO2_RING_COUNT; i++) {
    int rc = pto2__ring_init(&rt->rings[i], i, &rt->cfg);
    if (rc) return rc;
  }
  /* (Q1): a queue must hold every task that can be in flight at once. */
  uint64_t cap = 1;
  while (cap < (uint64_t)PTO2_RING_COUNT * rt->cfg.task_window) cap <<= 1;
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++) {
    int rc = pto2__rq_init(&rt->queues[i], cap, &rt->cfg.allocator);
    if (rc) return rc;
  }
  int rc = pto2__tmap_init(&rt->tmap, TMAP_BUCKETS, TMAP_INITIAL_ENTRIES, &rt->cfg.allocator);
  if (rc || (rc = pto2__tmap_init(&rt->rmap, TMAP_BUCKETS, TMAP_INITIAL_READERS,
                                  &rt->cfg.allocator)))
    return rc;
  if ((rc = pto2__orch_init(rt))) return rc;
  if (rt->cfg.hazard_check != PTO2_HAZARD_CHECK_OFF &&
      !(rt->hz = pto2__hz_create(kernel_name, rt, &rt->cfg.allocator)))
    return PTO2_E_NO_MEMORY;
  rt->executor_count = rt->cfg.worker_threads + 1;
  rt->executors = pto2__zalloc64(&rt->cfg.allocator, rt->executor_count * sizeof *rt->executors);
  if (!rt->executors) return PTO2_E_NO_MEMORY;
  assign_clusters(rt);
  return 0;
}

static void free_structures(pto2_runtime *rt) {
  const pto2_allocator *a = &rt->cfg.allocator;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) pto2__ring_fini(&rt->rings[i], a);
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++) pto2__rq_fini(&rt->queues[i], a);
  pto2__tmap_fini(&rt->tmap);
  pto2__tmap_fini(&rt->rmap);
  pto2__orch_fini(rt);
  pto2__hz_destroy(rt->hz);
  pto2__free64(a, rt->executors);
}

int pto2_runtime_create(const pto2_config *cfg, pto2_runtime **out) {
  if (!out) return PTO2_E_INVALID_ARGS;
  *out = 0;
  pto2_config c;
  int rc = resolve_config(cfg, &c);
  if (rc) return rc;
  pto2_runtime *rt = pto2__zalloc64(&c.allocator, sizeof *rt);
  if (!rt) {
    pto2__log(c.log_level, PTO2_LOG_ERROR, "pto2_runtime_create: out of memory");
    return PTO2_E_NO_MEMORY;
  }
  rt->cfg = c;
  if ((rc = create_structures(rt))) goto fail;
  if ((rc = pto2__executors_start(rt))) goto fail_threads;
  if ((rc = pto2__watchdog_start(rt))) goto fail_threads;
  pto2__runtime_remember(rt);
  *out = rt;
  return 0;
fail_threads:
  pto2__executors_stop(rt);
fail:
  if (rc == PTO2_E_NO_MEMORY)
    pto2__log(c.log_level, PTO2_LOG_ERROR, "pto2_runtime_create: out of memory");
  free_structures(rt);
  pto2__free64(&c.allocator, rt);
  return rc;
}

void pto2_runtime_destroy(pto2_runtime *rt) {
  if (!rt) return;
  if (!pto2__runtime_live(rt, "pto2_runtime_destroy")) return;
  if (rt->in_run) {
    pto2__fail(rt, PTO2_E_BUSY, "pto2_runtime_destroy called during pto2_run; ignored");
    return;
  }
  pto2__runtime_forget(rt);
  /* Every worker is idle or was abandoned in a stuck kernel (recover());
   * an abandoned one owns what it may still use and frees it itself. */
  pto2__watchdog_stop(rt);
  pto2__executors_stop(rt);
  pto2__trace_free(rt);
  free_structures(rt);
  pto2_allocator a = rt->cfg.allocator;
  pto2__free64(&a, rt);
}

int pto2_kernel_register(pto2_runtime *rt, int32_t kernel_id, pto2_core_type type,
                         const char *name, pto2_kernel_fn fn, void *user) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!pto2__runtime_live(rt, "pto2_kernel_register")) return PTO2_E_INVALID_ARGS;
  const char *problem = 0;
  if (rt->in_run) problem = "not allowed during pto2_run";
  else if (kernel_id < 0 || kernel_id >= PTO2_MAX_KERNELS)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_kernel_register(%d): id out of range (ids 0..%d)",
                           (int)kernel_id, PTO2_MAX_KERNELS - 1);
  else if (type != PTO2_CORE_AIC && type != PTO2_CORE_AIV) problem = "unknown core type";
  else if (!name) problem = "name is NULL";
  else if (!fn) problem = "function is NULL";
  if (problem)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS, "pto2_kernel_register(%d): %s",
                           (int)kernel_id, problem);
  pto2__kernel *k = &rt->kernels[kernel_id];
  if (k->fn)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_kernel_register(%d): id already registered (as '%s'); each id "
                           "is registered once per runtime",
                           (int)kernel_id, k->name);
  k->fn = fn;
  k->user = user;
  k->type = (uint8_t)type;
  snprintf(k->name, sizeof k->name, "%s", name);
  uint64_t bit = UINT64_C(1) << kernel_id;
  if (type == PTO2_CORE_AIC) rt->lane_kernels[PTO2__LANE_AIC] |= bit;
  else rt->lane_kernels[PTO2__LANE_AIV0] |= bit, rt->lane_kernels[PTO2__LANE_AIV1] |= bit;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

static void fill_stats(pto2_runtime *rt, pto2_run_stats *st, uint64_t orch_ns, uint64_t elapsed) {
  memset(st, 0, sizeof *st);
  st->tasks = rt->orch.tasks;
  st->edges = rt->orch.edges;
  st->orch_ns = orch_ns;
  st->elapsed_ns = elapsed;
  st->hazard_check_bytes = rt->hz ? pto2__hz_bytes(rt->hz) : 0;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    st->ring_task_high_water[i] = (uint32_t)rt->rings[i].task_high_water;
    st->ring_heap_high_water[i] = rt->rings[i].heap.high_water;
    st->ring_dep_high_water[i] = (uint32_t)rt->rings[i].deps.high_water;
  }
  memcpy(st->orch_blocked_ns, rt->orch.blocked_ns, sizeof st->orch_blocked_ns);
}

/* The hazard check at the end of a run that succeeded (check/hazard.h). */
static int check_hazards(pto2_runtime *rt) {
  int n = pto2__hz_check(rt->hz);
  if (n < 0) return pto2__fail(rt, n, "hazard checker: out of memory analysing the run");
  if (n == 0) return 0;
  /* The texts name the calls of the orchestration's language
   * (pto2_hazard_set_names), the error message and the log lines alike. */
  char msg[960], named[sizeof rt->error_msg];
  int len = pto2_hazard_format(pto2__hz_get(rt->hz, 0), msg, sizeof msg);
  if (rt->cfg.hazard_check == PTO2_HAZARD_CHECK_FAIL) {
    if (n > 1 && len >= 0 && (size_t)len < sizeof msg)
      snprintf(msg + len, sizeof msg - (size_t)len,
               " (and more: pto2_hazard_count/pto2_hazard_get list them all)");
    pto2__hz_rename(rt->hz, msg, named, sizeof named);
    return pto2__fail(rt, PTO2_E_HAZARD, "%s", named);
  }
  uint32_t shown = pto2__hz_count(rt->hz) < 20 ? pto2__hz_count(rt->hz) : 20;
  for (uint32_t i = 0; i < shown; i++) {
    pto2_hazard_format(pto2__hz_get(rt->hz, i), msg, sizeof msg);
    pto2__hz_rename(rt->hz, msg, named, sizeof named);
    pto2__log(rt->cfg.log_level, PTO2_LOG_WARN, "hazard %u of %d: %s", i + 1, n, named);
  }
  return 0;
}

int pto2_hazard_set_names(pto2_runtime *rt, const char *const *pairs, uint32_t count) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!pto2__runtime_live(rt, "pto2_hazard_set_names")) return PTO2_E_INVALID_ARGS;
  if (rt->in_run)
    return pto2__host_fail(rt, PTO2_E_BUSY, "pto2_hazard_set_names: not allowed during pto2_run");
  if (count > 1024 || (count && !pairs))
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_hazard_set_names: %u pairs %s", count,
                           count > 1024 ? "(at most 1024)" : "but pairs is NULL");
  for (uint32_t i = 0; i < 2 * count; i++)
    if (!pairs[i] || (i % 2 == 0 && !*pairs[i]))
      return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                             "pto2_hazard_set_names: pair %u: %s is %s", i / 2,
                             i % 2 ? "the replacement" : "the name", pairs[i] ? "empty" : "NULL");
  if (!rt->hz) return 0; /* the checker is off: no texts to name */
  int rc = pto2__hz_set_names(rt->hz, pairs, count);
  return rc ? pto2__host_fail(rt, rc, "pto2_hazard_set_names: out of memory") : 0;
}

uint32_t pto2_hazard_count(const pto2_runtime *rt) { return rt ? pto2__hz_count(rt->hz) : 0; }

const pto2_hazard *pto2_hazard_get(const pto2_runtime *rt, uint32_t i) {
  return rt ? pto2__hz_get(rt->hz, i) : 0;
}

/* After an error: stop the executors, drop every task, and make the
 * runtime ready for the next run. */
static void recover(pto2_runtime *rt) {
  int rc = pto2__executors_quiesce(rt);
  if (rc) {
    /* A stuck worker could not be replaced: its memory stays where it is
     * and the next run retries. */
    rt->broken = true;
    pto2__log(rt->cfg.log_level, PTO2_LOG_ERROR,
              "could not replace a worker stuck in a kernel (%s); the next run retries",
              pto2_err_name(rc));
    return;
  }
  rt->broken = false;
  /* No executor touches the structures now: drop every task in flight. */
  pto2__orch_reset(rt);
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) pto2__ring_reset(&rt->rings[i]);
  pto2__tmap_clear(&rt->tmap);
  pto2__tmap_clear(&rt->rmap);
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++) pto2__rq_reset(&rt->queues[i]);
  rt->executors[0].next = 0;
  pto2__executors_resume(rt);
}

/* Cleanup of pto2_run()'s frame.  runtime.c is compiled with -fexceptions,
 * so this also runs while a C++ exception thrown by the orchestration
 * function unwinds through pto2_run(): the run fails with PTO2_E_ABORTED, its
 * tasks are dropped and the runtime is left usable; the exception then
 * continues to pto2_run()'s caller.  On a normal return *unwinding is NULL.
 * (longjmp does not run cleanups: see the comment at pto2_run in pto2.h.) */
static void run_unwound(pto2_runtime **unwinding) {
  pto2_runtime *rt = *unwinding;
  if (!rt) return;
  pto2__fail(rt, PTO2_E_ABORTED,
             "the orchestration function exited by an exception; the run was abandoned");
  (void)pto2__orch_run_end(rt);
  recover(rt);
  pto2__watchdog_run(rt, false);
  rt->in_run = false;
}

int pto2_run(pto2_runtime *rt, pto2_orchestration_fn fn, void *arg, pto2_run_stats *stats) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!pto2__runtime_live(rt, "pto2_run")) return PTO2_E_INVALID_ARGS;
  /* Inside a run this fails the running one (pto2__host_fail). */
  if (rt->in_run) return pto2__host_fail(rt, PTO2_E_BUSY, "pto2_run called from inside a run");
  if (!fn)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_run: the orchestration function is NULL");
  if (rt->broken) {
    pto2__watchdog_run(rt, true);
    recover(rt);
    pto2__watchdog_run(rt, false);
    if (rt->broken) {
      return pto2__host_fail(rt, PTO2_E_BUSY,
                             "pto2_run: a worker stuck in a kernel of an earlier run could not "
                             "be replaced (out of memory or threads); try again");
    }
  }
  rt->in_run = true;
  atomic_store_explicit(&rt->error_msg_ready, 0, memory_order_relaxed);
  atomic_store_explicit(&rt->error, 0, memory_order_relaxed);
  rt->error_msg[0] = 0;
  if (rt->hz) pto2__hz_run_begin(rt->hz);
  pto2__watchdog_run(rt, true);
  uint64_t t0 = pto2__now_ns();
  pto2__trace_run_begin(rt, t0);
  pto2__orch_run_begin(rt);
  pto2_runtime *unwinding __attribute__((cleanup(run_unwound))) = rt;
  fn(rt, arg);
  unwinding = 0;
  uint64_t t1 = pto2__now_ns();
  pto2__trace_phase(rt, -1, "orchestration", t0, t1);
  int rc = pto2__orch_run_end(rt);
  if (PTO2_UNLIKELY(rt->hz) && !rc) rc = check_hazards(rt);
  uint64_t t2 = pto2__now_ns();
  if (rc) recover(rt); /* the watchdog still flags stuck kernels meanwhile */
  pto2__watchdog_run(rt, false);
  if (!rc && (rc = atomic_load_explicit(&rt->error, memory_order_acquire)))
    recover(rt); /* a verdict that came as the last task finished */
  if (stats) fill_stats(rt, stats, t1 - t0, t2 - t0);
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_run_end(rt, t2, stats);
  rt->in_run = false;
  return rc;
}
