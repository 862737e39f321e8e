/* What the OpenMP variants share (variants/threads/): splitting work over a team. */
#ifndef KT_THREADS_H
#define KT_THREADS_H

#include <stddef.h>

#include "kt_internal.h"

/* [lo, hi) of thread id of t over [0, n): equal shares whose starts are multiples of align. */
static inline void kt_thr_split(size_t n, int t, int id, size_t align, size_t *lo, size_t *hi) {
    size_t blocks = (n + align - 1) / align;
    size_t per = blocks / (size_t)t, extra = blocks % (size_t)t;
    size_t b0 = (size_t)id * per + ((size_t)id < extra ? (size_t)id : extra);
    size_t b1 = b0 + per + ((size_t)id < extra ? 1 : 0);
    *lo = b0 * align < n ? b0 * align : n;
    *hi = b1 * align < n ? b1 * align : n;
}

/* Elements of size elem per cache line (no two threads write one line). */
static inline size_t kt_thr_line_elems(size_t elem) {
    size_t line = kt_cpu_get()->line;
    return line >= elem ? line / elem : 1;
}

#endif /* KT_THREADS_H */
