#include "util/log.h"

#include <stdio.h>
#include <string.h>

static const char *level_name(pto2_log_level level) {
  switch (level) {
  case PTO2_LOG_ERROR: return "ERROR";
  case PTO2_LOG_WARN: return "WARN";
  case PTO2_LOG_INFO: return "INFO";
  case PTO2_LOG_DEBUG: return "DEBUG";
  default: return "LOG";
  }
}

void pto2__logv(pto2_log_level threshold, pto2_log_level level, const char *fmt, va_list ap) {
  if (level != PTO2_LOG_ALWAYS && (threshold == PTO2_LOG_SILENT || level > threshold)) return;
  char line[2048];
  int n = snprintf(line, sizeof line, "[pto2] %s: ", level_name(level));
  if (n < 0) return;
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  fprintf(stderr, "%s\n", line);
}

void pto2__log(pto2_log_level threshold, pto2_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pto2__logv(threshold, level, fmt, ap);
  va_end(ap);
}

int pto2__log_level_parse(const char *word, pto2_log_level *out) {
  static const struct {
    const char *word;
    pto2_log_level level;
  } words[] = {{"silent", PTO2_LOG_SILENT}, {"error", PTO2_LOG_ERROR},
               {"warn", PTO2_LOG_WARN},     {"info", PTO2_LOG_INFO},
               {"normal", PTO2_LOG_INFO},   {"debug", PTO2_LOG_DEBUG},
               {"verbose", PTO2_LOG_DEBUG}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    if (strcmp(word, words[i].word) == 0) {
      *out = words[i].level;
      return 0;
    }
  }
  return -1;
}
