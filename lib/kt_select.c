/*
 * kt_select: dispatch for any op by handle, built-in or registered.  The
 * same tables as the built-in entry points (lib/kt_dispatch.c): one acquire
 * load, the interval lookup, and the rules that make a choice safe here --
 * inside an OpenMP parallel region the serial variant of the interval, below
 * a variant's minimum size the op's best serial variant.  No locks, no
 * allocation on the way.
 */
#include "config.h"

#include "kt_dispatch.h"
#include "kt_internal.h"

/* First call, a handle registered after the table was built, or a bad handle. */
static __attribute__((noinline)) const kt_variant *select_slow(int h, const size_t dims[3]) {
    if (h < 0 || (size_t)h >= kt_op_count() || !dims) {
        kt_fail(KT_EINVAL, "kt_select: %s", dims ? "bad handle" : "dims is NULL");
        return NULL;
    }
    const kt_table *tab = kt_table_get();
    if (tab && (size_t)h >= tab->nops) {
        kt_reload();
        tab = kt_table_get();
    }
    if (!tab || (size_t)h >= tab->nops) {
        kt_fail(KT_ENOMEM, "kt_select: no dispatch table for %s", kt_ops[h].name);
        return NULL;
    }
    return kt_select_variant(h, dims);
}

const kt_variant *kt_select_variant(int h, const size_t dims[3]) {
    const kt_table *tab = kt_table_peek();
    if (__builtin_expect(!tab || (unsigned)h >= tab->nops || !dims, 0)) return select_slow(h, dims);
    const kt_optab *t = &tab->ops[h];
    const kt_interval *iv = kt_lookup(t, dims);
    const kt_variant *v = iv->pick;
    if (__builtin_expect(!v, 0)) {
        kt_fail(KT_EUNAVAIL, "kt_select: no variant of %s can run here", kt_ops[h].name);
        return NULL;
    }
    if ((v->flags & KT_VF_OPENMP) && kt_omp_in_parallel()) v = iv->serial;
    if (__builtin_expect(v->min_size != 0, 0) && !kt_variant_size_ok(v, dims)) v = t->best_serial;
    if (!v) kt_fail(KT_EUNAVAIL, "kt_select: no variant of %s takes this size", kt_ops[h].name);
    return v;
}

kt_fnptr kt_select(int h, const size_t dims[3]) {
    const kt_variant *v = kt_select_variant(h, dims);
    return v ? v->fn : NULL;
}

kt_status kt_select_explain(int h, const size_t dims[3], kt_dispatch_info *out) {
    if (h < 0 || (size_t)h >= kt_op_count())
        return kt_fail(KT_ENOTFOUND, "kt_select_explain: bad handle %d", h);
    return kt_dispatch_explain(kt_ops[h].name, dims, out);
}
