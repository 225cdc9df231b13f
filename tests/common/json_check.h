/*
 * A strict JSON syntax check for tests (RFC 8259 grammar; numbers, strings
 * with escapes, nesting), so a test can assert that a writer's output is
 * valid JSON without a parser library.
 */
#ifndef PTO2_TEST_JSON_CHECK_H
#define PTO2_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <string.h>

typedef struct json_cursor {
  const char *p;
  int depth;
} json_cursor;

static void json_ws(json_cursor *c) {
  while (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t') c->p++;
}

static bool json_value(json_cursor *c);

static bool json_string(json_cursor *c) {
  if (*c->p != '"') return false;
  for (c->p++; *c->p != '"'; c->p++) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch < 0x20) return false;
    if (ch != '\\') continue;
    c->p++;
    if (*c->p == 'u') {
      for (int i = 0; i < 4; i++)
        if (!strchr("0123456789abcdefABCDEF", *++c->p) || !*c->p) return false;
    } else if (!*c->p || !strchr("\"\\/bfnrt", *c->p)) {
      return false;
    }
  }
  c->p++;
  return true;
}

static bool json_digits(json_cursor *c) {
  if (*c->p < '0' || *c->p > '9') return false;
  while (*c->p >= '0' && *c->p <= '9') c->p++;
  return true;
}

static bool json_number(json_cursor *c) {
  if (*c->p == '-') c->p++;
  if (*c->p == '0') c->p++;
  else if (!json_digits(c)) return false;
  if (*c->p == '.') {
    c->p++;
    if (!json_digits(c)) return false;
  }
  if (*c->p == 'e' || *c->p == 'E') {
    c->p++;
    if (*c->p == '+' || *c->p == '-') c->p++;
    if (!json_digits(c)) return false;
  }
  return true;
}

static bool json_members(json_cursor *c, char close, bool keyed) {
  c->p++;
  if (++c->depth > 256) return false;
  json_ws(c);
  if (*c->p == close) {
    c->p++;
    c->depth--;
    return true;
  }
  for (;;) {
    json_ws(c);
    if (keyed) {
      if (!json_string(c)) return false;
      json_ws(c);
      if (*c->p++ != ':') return false;
    }
    if (!json_value(c)) return false;
    json_ws(c);
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    if (*c->p++ != close) return false;
    c->depth--;
    return true;
  }
}

static bool json_value(json_cursor *c) {
  json_ws(c);
  switch (*c->p) {
  case '{': return json_members(c, '}', true);
  case '[': return json_members(c, ']', false);
  case '"': return json_string(c);
  case 't': return !strncmp(c->p, "true", 4) && (c->p += 4);
  case 'f': return !strncmp(c->p, "false", 5) && (c->p += 5);
  case 'n': return !strncmp(c->p, "null", 4) && (c->p += 4);
  default: return json_number(c);
  }
}

/* True if `text` is exactly one valid JSON value (surrounding whitespace allowed). */
static inline bool json_valid(const char *text) {
  json_cursor c = {text, 0};
  if (!json_value(&c)) return false;
  json_ws(&c);
  return *c.p == 0;
}

#endif
