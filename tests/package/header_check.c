/* Compiled as C11 and C++11/17/20 with -Wall -Wextra -pedantic -Werror (see
 * CMakeLists.txt): the public headers, and their macros, must be clean in
 * every one. */
#include "pto2/pto2.h"
#include "pto2/plugin.h"
#ifdef __cplusplus
#include "pto2/pto2.hpp"
#endif

int pto2_header_check(pto2_runtime *rt);
int pto2_header_check(pto2_runtime *rt) {
  pto2_task_id id = PTO2_TASK_ID_INVALID;
  int n = 0;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    n++;
  }
  return pto2_task_id_is_valid(id) ? n : 0;
}

static int check_register(pto2_runtime *rt) { return rt ? 0 : 1; }
static void check_orchestrate(pto2_runtime *rt, const pto2_plugin_args *a) {
  (void)rt;
  (void)a;
}
PTO2_PLUGIN(check_register, check_orchestrate);
