/* Element types and IEEE binary16 conversion. */
#include <string.h>

#include "pto2/pto2.h"

static const struct {
  size_t size;
  const char *name;
} dtype_info[PTO2_DTYPE_COUNT] = {
    [PTO2_FLOAT32] = {4, "float32"}, [PTO2_FLOAT16] = {2, "float16"},
    [PTO2_INT32] = {4, "int32"},     [PTO2_INT16] = {2, "int16"},
    [PTO2_INT8] = {1, "int8"},       [PTO2_UINT8] = {1, "uint8"},
    [PTO2_BFLOAT16] = {2, "bfloat16"}, [PTO2_INT64] = {8, "int64"},
    [PTO2_UINT64] = {8, "uint64"},
};

size_t pto2_dtype_size(pto2_dtype dtype) {
  return (unsigned)dtype < PTO2_DTYPE_COUNT ? dtype_info[dtype].size : 0;
}

const char *pto2_dtype_name(pto2_dtype dtype) {
  return (unsigned)dtype < PTO2_DTYPE_COUNT ? dtype_info[dtype].name : "invalid";
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

float pto2_fp16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13)); /* inf / NaN */
  if (exp != 0) return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
  if (man == 0) return f32_from_bits(sign);
  /* Subnormal: value = man * 2^-24, exact in float32. */
  float v = (float)man * 5.9604644775390625e-08f;
  return sign ? -v : v;
}

uint16_t pto2_f32_to_fp16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((abs >> 13) & 0x3ffu)); /* NaN */
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
  if (abs < 0x38800000u) {
    /* Result is subnormal (or zero): round abs / 2^-24 to nearest even. */
    if (abs < 0x33000000u) return sign; /* below half the smallest subnormal */
    uint32_t man = (abs & 0x7fffffu) | 0x800000u;
    unsigned shift = 126u - (abs >> 23); /* 14 .. 24 */
    uint32_t half = 1u << (shift - 1);
    uint32_t rest = man & ((1u << shift) - 1);
    uint32_t q = man >> shift;
    if (rest > half || (rest == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
  }
  /* Normal: rebias the exponent, round the mantissa from 23 to 10 bits. */
  uint32_t v = abs - 0x38000000u; /* exponent 127 -> 15 */
  v += 0xfffu + ((v >> 13) & 1u);
  return (uint16_t)(sign | (v >> 13));
}
