/* The out-of-line part of the argument builder (see pto2.h for the rest). */
#include "pto2/pto2.h"

#define NULL_VALUES "NULL value array with a non-zero count"

void pto2_arg_add_scalars(pto2_arg *a, const uint64_t *v, uint32_t n) {
  if (!a || a->error) return;
  if (!v && n) {
    a->error = NULL_VALUES " in add_scalars";
    return;
  }
  if (n > (uint32_t)(PTO2_MAX_SCALAR_ARGS - a->scalar_count)) {
    a->error = PTO2__ARG_ERR_TOO_MANY_SCALARS;
    return;
  }
  for (uint32_t i = 0; i < n; i++) a->scalars[a->scalar_count++] = v[i];
}

void pto2_arg_add_scalars_i32(pto2_arg *a, const int32_t *v, uint32_t n) {
  if (!a || a->error) return;
  if (!v && n) {
    a->error = NULL_VALUES " in add_scalars_i32";
    return;
  }
  if (n > (uint32_t)(PTO2_MAX_SCALAR_ARGS - a->scalar_count)) {
    a->error = PTO2__ARG_ERR_TOO_MANY_SCALARS;
    return;
  }
  for (uint32_t i = 0; i < n; i++) a->scalars[a->scalar_count++] = pto2_u64_from_i32(v[i]);
}

void pto2_arg_copy_scalars_from(pto2_arg *a, const pto2_arg *src, uint32_t off, uint32_t n) {
  if (!a || a->error) return;
  if (!src) {
    a->error = "NULL source argument list in copy_scalars_from";
    return;
  }
  if (off > src->scalar_count || n > (uint32_t)(src->scalar_count - off)) {
    a->error = "Source scalar range out of bounds in copy_scalars_from";
    return;
  }
  pto2_arg_add_scalars(a, src->scalars + off, n);
}

void pto2_arg_set_block_num(pto2_arg *a, uint32_t n) {
  if (!a || a->error) return;
  if (n < 1 || n > INT16_MAX) {
    a->error = "block_num must be between 1 and 32767";
    return;
  }
  a->block_num = (uint16_t)n;
}

void pto2_arg_add_dep(pto2_arg *a, pto2_task_id producer) {
  if (!a || a->error) return;
  if (a->dep_count >= PTO2_MAX_FANIN) {
    a->error = "Too many explicit producers (exceeds PTO2_MAX_FANIN=16)";
    return;
  }
  a->deps[a->dep_count++] = producer;
  a->explicit_deps = true;
}

void pto2_arg_set_deps(pto2_arg *a, const pto2_task_id *producers, uint32_t n) {
  if (!a || a->error) return;
  if (!producers && n) {
    a->error = NULL_VALUES " in set_deps";
    return;
  }
  a->dep_count = 0;
  a->explicit_deps = true;
  for (uint32_t i = 0; i < n; i++) pto2_arg_add_dep(a, producers[i]);
}
