/* Small helpers for the JSON writers. */
#ifndef PTO2_UTIL_JSON_H
#define PTO2_UTIL_JSON_H

#include <stdio.h>

/* Writes `s` escaped for a JSON string, without the quotes. */
static inline void pto2__json_raw(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

/* Writes `s` as a JSON string. */
static inline void pto2__json_string(FILE *f, const char *s) {
  fputc('"', f);
  pto2__json_raw(f, s);
  fputc('"', f);
}

#endif
