/*
 * The roofline of pto2-bench --roofline: this machine's peaks, measured in
 * about a second, and per paged-attention case the work, the bound and the
 * kernels' own speed.
 *
 * Peaks, each with `threads` threads at once, as work per CPU second of
 * each thread (summed), so that other programs sharing the machine do not
 * lower them:
 *   bf16 dot   vdpbf16ps on independent accumulators (AVX-512 BF16), the
 *              compute peak of the bound; fp32 FMA where the CPU has none
 *   fp32 FMA   vfmadd231ps zmm (AVX-512F), else what the compiler makes of
 *              a plain multiply-add loop
 *   AMX bf16   tdpbf16ps on 16 x 16 tiles, shown but not used for the bound
 *   read       bytes per second summing a 512 MiB buffer (well past the
 *              caches)
 *
 * A case does flops = 4 * sum over batches of (heads * context * head_dim)
 * (QK and PV, 2 flops per multiply-add) and must read bytes = the keys and
 * values of every context once, plus the query and the output; its bound is
 * max(flops / bf16 dot peak, bytes / read bandwidth).
 */
#ifndef PTO2_ROOFLINE_H
#define PTO2_ROOFLINE_H

#include <stdio.h>

#include "pa_orch.h"

typedef struct roofline_peaks {
  unsigned threads;
  double dot_bf16; /* GFLOP/s, 0 if the CPU has no AVX-512 BF16 */
  double fma_f32;  /* GFLOP/s */
  double amx_bf16; /* GFLOP/s, 0 without AMX */
  double read;     /* GB/s */
  double seconds;  /* spent measuring */
} roofline_peaks;

/* Measures the peaks with `threads` threads (>= 1).  Returns 0 or
 * PTO2_E_NO_MEMORY. */
int roofline_measure(unsigned threads, roofline_peaks *out);
void roofline_print_peaks(FILE *f, const roofline_peaks *p);

typedef struct roofline_work {
  double flops, bytes;
  double compute_s, memory_s, bound_s; /* seconds */
  const char *limit;                   /* "compute" or "memory" */
} roofline_work;

roofline_work roofline_case_work(const pa_case *c, const roofline_peaks *p);

/* One line per lane of a scene of case c: flops, bytes, bound, the measured
 * median elapsed (us) and its ratio to the bound; then the process CPU time
 * per round (us, all threads) over the threads, and its ratio to the bound:
 * what the run would take with the CPUs to itself (on a shared machine the
 * elapsed time also counts the time other programs had the CPUs).  Returns
 * the worst elapsed ratio. */
double roofline_print_rows(FILE *f, const roofline_peaks *p, const pa_case *c,
                           const pa_lane *lanes, const double *elapsed_us, const double *cpu_us,
                           int n);

/* Times each kernel of the case alone in CPU time on one thread (on the inputs' first
 * batch, the kernel calls of both scenes) and prints GFLOP/s for QK / PV
 * and ns per element for SF / UP.  Returns 0 or a kernel's error. */
int roofline_print_kernels(FILE *f, const roofline_peaks *p, const pa_inputs *in);

#endif
