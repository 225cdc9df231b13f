/*
 * pto2 plugins: a shared library holding kernels and an orchestration entry
 * point, which a host loads at run time (the Python package's
 * pto2.Runtime.load_plugin, or dlopen + dlsym from any language).
 *
 *   #include "pto2/plugin.h"
 *
 *   static int my_register(pto2_runtime *rt) {          // kernels, once per runtime
 *     return pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "add", add_kernel, NULL);
 *   }
 *   static void my_orchestrate(pto2_runtime *rt, const pto2_plugin_args *a) {
 *     if (a->tensor_count != 3) { pto2_abort_run(rt, "add: expected 3 tensors"); return; }
 *     ... submit tasks on a->tensors[i], a->scalars[j] ...
 *   }
 *   PTO2_PLUGIN(my_register, my_orchestrate)
 *
 * Build:  cc -shared -fPIC -o libmyplugin.so myplugin.c $(pkg-config --cflags --libs pto2)
 *    or:  add_library(myplugin MODULE myplugin.c)
 *         target_link_libraries(myplugin PRIVATE pto2::pto2_shared)
 *
 * Link the plugin against the shared libpto2 (never the static one: the host
 * and the plugin must share one copy of the runtime).
 *
 * The host calls pto2_plugin_register(rt) once per runtime, then
 * pto2_run(rt, pto2_plugin_orchestrate, &args, ...) with a pto2_plugin_args.
 * Kernel ids are per runtime: two plugins loaded into one runtime must use
 * different ids.
 */
#ifndef PTO2_PLUGIN_H
#define PTO2_PLUGIN_H

#include "pto2/pto2.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Raised when pto2_plugin_args or the entry points change. */
#define PTO2_PLUGIN_ABI_VERSION 1

/* What the host passes to the orchestration entry point (part of the ABI). */
typedef struct pto2_plugin_args {
  const pto2_tensor *tensors; /* the host's tensors (external: caller-owned memory) */
  uint32_t tensor_count;
  uint32_t scalar_count;
  const uint64_t *scalars;    /* raw bits, as pto2_arg_add_scalar takes them */
  void *user;                 /* host-defined, NULL from the Python package */
} pto2_plugin_args;

/* The plugin's entry points, defined by PTO2_PLUGIN. */
typedef unsigned (*pto2_plugin_abi_version_fn)(void);
typedef int (*pto2_plugin_register_fn)(pto2_runtime *rt);
/* `args` is a const pto2_plugin_args * (void * to fit pto2_orchestration_fn). */
typedef void (*pto2_plugin_orchestrate_fn)(pto2_runtime *rt, void *args);

#ifdef __cplusplus
#define PTO2__PLUGIN_LINKAGE extern "C"
#else
#define PTO2__PLUGIN_LINKAGE
#endif
#if defined(__GNUC__) || defined(__clang__)
#define PTO2_PLUGIN_EXPORT PTO2__PLUGIN_LINKAGE __attribute__((visibility("default")))
#else
#define PTO2_PLUGIN_EXPORT PTO2__PLUGIN_LINKAGE
#endif

/*
 * Defines the three exported entry points of a plugin:
 *   unsigned pto2_plugin_abi_version(void)     -> PTO2_PLUGIN_ABI_VERSION
 *   int  pto2_plugin_register(pto2_runtime *)  -> register_fn(rt): 0 or an error
 *   void pto2_plugin_orchestrate(pto2_runtime *, void *args)
 *                                              -> orchestrate_fn(rt, args)
 * register_fn:    int (pto2_runtime *rt)
 * orchestrate_fn: void (pto2_runtime *rt, const pto2_plugin_args *args)
 * Use it once per plugin, at file scope.
 */
#define PTO2_PLUGIN(register_fn, orchestrate_fn)                                        \
  PTO2_PLUGIN_EXPORT unsigned pto2_plugin_abi_version(void);                            \
  PTO2_PLUGIN_EXPORT int pto2_plugin_register(pto2_runtime *rt);                        \
  PTO2_PLUGIN_EXPORT void pto2_plugin_orchestrate(pto2_runtime *rt, void *args);        \
  PTO2_PLUGIN_EXPORT unsigned pto2_plugin_abi_version(void) { return PTO2_PLUGIN_ABI_VERSION; } \
  PTO2_PLUGIN_EXPORT int pto2_plugin_register(pto2_runtime *rt) { return (register_fn)(rt); } \
  PTO2_PLUGIN_EXPORT void pto2_plugin_orchestrate(pto2_runtime *rt, void *args) {       \
    (orchestrate_fn)(rt, (const pto2_plugin_args *)args);                               \
  }                                                                                     \
  typedef int pto2__plugin_defined_here

#ifdef __cplusplus
}
#endif

#endif /* PTO2_PLUGIN_H */
