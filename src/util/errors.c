/* pto2_strerror() and pto2_err_name(), generated from PTO2_ERRNO_MAP. */
#include "pto2/pto2.h"

const char *pto2_strerror(int err) {
  switch (err) {
  case PTO2_OK: return "success";
#define XX(name, value, text) \
  case PTO2_E_##name: return text;
    PTO2_ERRNO_MAP(XX)
#undef XX
  default: return "unknown error";
  }
}

const char *pto2_err_name(int err) {
  switch (err) {
  case PTO2_OK: return "PTO2_OK";
#define XX(name, value, text) \
  case PTO2_E_##name: return "PTO2_E_" #name;
    PTO2_ERRNO_MAP(XX)
#undef XX
  default: return "PTO2_E_UNKNOWN";
  }
}
