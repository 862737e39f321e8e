/* `ktune bench --overhead` (tuner/bench_overhead.c). */
#ifndef KT_BENCH_OVERHEAD_H
#define KT_BENCH_OVERHEAD_H

/*
 * Prints the dispatch overhead of small calls (entry point against a direct
 * call of its variant), as text or JSON; returns the exit status.
 */
int kt_bench_overhead(int json);

#endif
