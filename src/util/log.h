/* Leveled logging to stderr, one whole line per call. */
#ifndef PTO2_UTIL_LOG_H
#define PTO2_UTIL_LOG_H

#include <stdarg.h>

#include "pto2/pto2.h"

/* Prints when `level` is ALWAYS or within `threshold`. */
void pto2__logv(pto2_log_level threshold, pto2_log_level level, const char *fmt, va_list ap);
void pto2__log(pto2_log_level threshold, pto2_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "silent|error|warn|info|debug" (also "normal", "verbose").  Returns
 * 0 and stores the level, or -1 for an unknown word. */
int pto2__log_level_parse(const char *word, pto2_log_level *out);

#endif
