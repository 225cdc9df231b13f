/*
 * What differs between scope modes (docs/semantics.md), as one table read
 * by the submit path and the other orchestration calls.  The submit path
 * is specialised per mode (the mode is a compile-time constant there), so
 * reading the table costs nothing at run time.
 */
#ifndef PTO2_ORCH_POLICY_H
#define PTO2_ORCH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "pto2/pto2.h"

/* Which tensor creators a task holds alive instead of waiting for. */
enum pto2__hold_rule {
  PTO2__HOLD_NONE,  /* every creator is a producer (AUTO) */
  PTO2__HOLD_LOCAL, /* creators in the current scope are held (MANUAL) */
  PTO2__HOLD_ALL,   /* every creator is held (GRAPH) */
};

/* When a submitted task may become ready. */
enum pto2__publish_rule {
  PTO2__PUBLISH_NOW,                    /* at submit (AUTO) */
  PTO2__PUBLISH_AT_END_UNLESS_EXPLICIT, /* at submit if given explicit producers,
                                           else at scope end (MANUAL) */
  PTO2__PUBLISH_AT_END,                 /* at scope end (GRAPH) */
};

/* Which tasks pto2_add_dependency may connect. */
enum pto2__edge_rule {
  PTO2__EDGES_NONE,          /* not allowed (AUTO) */
  PTO2__EDGES_CURRENT_SCOPE, /* both tasks in the current scope (MANUAL) */
  PTO2__EDGES_ANY,           /* any tasks this runtime issued (GRAPH) */
};

typedef struct pto2__mode_policy {
  bool tensormap;          /* tensors not held are looked up and recorded in the TensorMap */
  uint8_t hold;            /* enum pto2__hold_rule */
  uint8_t publish;         /* enum pto2__publish_rule */
  uint8_t edges;           /* enum pto2__edge_rule */
  bool plain_submit;       /* pto2_submit_task/aic/aiv accepted */
  bool manual_submit;      /* pto2_submit_*_manual accepted */
  bool nests_other_modes;  /* a scope of another mode may open inside */
  bool blocking_access;    /* pto2_get/set_tensor_data accepted */
  const char *name;        /* for messages: "AUTO", "MANUAL", "GRAPH", "AUTO_STRICT" */
  /* Readers are recorded (reader lists, reader log, reader map); a writing access also
   * waits for earlier readers, OUTPUT_EXISTING for earlier writers; lookups
   * beyond PTO2_MAX_FANIN producers wait instead of failing. */
  bool strict;
} pto2__mode_policy;

static const pto2__mode_policy pto2__mode_policies[4] = {
    [PTO2_SCOPE_AUTO] = {true, PTO2__HOLD_NONE, PTO2__PUBLISH_NOW, PTO2__EDGES_NONE, true, false,
                         true, true, "AUTO", false},
    [PTO2_SCOPE_MANUAL] = {true, PTO2__HOLD_LOCAL, PTO2__PUBLISH_AT_END_UNLESS_EXPLICIT,
                           PTO2__EDGES_CURRENT_SCOPE, false, true, false, false, "MANUAL", false},
    [PTO2_SCOPE_GRAPH] = {false, PTO2__HOLD_ALL, PTO2__PUBLISH_AT_END, PTO2__EDGES_ANY, true,
                          false, true, false, "GRAPH", false},
    [PTO2_SCOPE_AUTO_STRICT] = {true, PTO2__HOLD_NONE, PTO2__PUBLISH_NOW, PTO2__EDGES_NONE, true,
                                false, true, true, "AUTO_STRICT", true},
};

static inline const pto2__mode_policy *pto2__policy(unsigned mode) {
  return &pto2__mode_policies[mode];
}

/* True if a task submitted with (`explicit_deps`) is held back until its
 * scope ends. */
static inline bool pto2__policy_defers(const pto2__mode_policy *p, bool explicit_deps) {
  return p->publish == PTO2__PUBLISH_AT_END ||
         (p->publish == PTO2__PUBLISH_AT_END_UNLESS_EXPLICIT && !explicit_deps);
}

#endif
