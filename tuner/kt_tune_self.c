/*
 * kt_tune_self: a program that registers its own ops (ktune_op.h), linked
 * statically with its variants, tunes them in-process into the database,
 * without a plugin or the ktune command.
 */
#include "config.h"

#include <string.h>

#include "kt_db.h"
#include "kt_tune.h"

kt_status kt_tune_self(const kt_tune_opts *opts, kt_tune_report *rep) {
    kt_tune_opts o = {0};
    kt_tune_report r;
    if (opts) o = *opts;
    int any = 0;
    for (size_t op = 0; op < kt_op_count(); op++) any |= o.ops[op];
    if (!any) /* none selected: the ops registered in this process */
        for (size_t op = KT_OP_COUNT; op < kt_op_count(); op++) o.ops[op] = any = 1;
    if (!any) return kt_fail(KT_ENOTFOUND, "kt_tune_self: no operation registered");
    if (!o.invocation) o.invocation = "kt_tune_self";
    char path[4096];
    if (!o.db_path || !o.db_path[0]) {
        kt_status d = kt_db_default_path(path, sizeof path, 1);
        if (d != KT_OK) return d;
        o.db_path = path;
    }
    kt_status s = kt_tune_run(&o, rep ? rep : &r);
    if (s == KT_OK) kt_reload();
    return s;
}
