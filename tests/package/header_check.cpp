/* Compiled as C11 and C++11/17/20 with -Wall -Wextra -pedantic -Werror (see
 * CMakeLists.txt): the public headers must be clean in every one. */
#include "pto2/pto2.h"
#include "pto2/plugin.h"
#ifdef __cplusplus
#include "pto2/pto2.hpp"
#endif

int pto2_header_check(void);
int pto2_header_check(void) {
  pto2_task_id id = PTO2_TASK_ID_INVALID;
  return pto2_task_id_is_valid(id) ? 1 : 0;
}
