/*
 * Fills dispatch from the tuning database: for each op, the choices stored
 * for this machine's fingerprint (ranked variants per tuned size), keeping
 * only variants this build knows at the same version.  Another machine's
 * rows in the same file are never read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kt_db.h"
#include "kt_dispatch.h"
#include "kt_internal.h"

static char kt_db_override[4096]; /* kt_tuned_db_override(); "" none */

void kt_tuned_db_override(const char *path) {
    snprintf(kt_db_override, sizeof kt_db_override, "%s", path ? path : "");
}

/*
 * The database path the library reads: the tuner's override, else KTUNE_DB,
 * else XDG, else the system file.
 */
kt_status kt_tuned_db_path(char *buf, size_t len) {
    const kt_env *env = kt_env_get();
    if (kt_db_override[0]) {
        if (strlen(kt_db_override) >= len) return kt_fail(KT_EINVAL, "database path too long");
        strcpy(buf, kt_db_override);
        return KT_OK;
    }
    if (env->db_path[0]) {
        if (strlen(env->db_path) >= len) return kt_fail(KT_EINVAL, "KTUNE_DB too long");
        strcpy(buf, env->db_path);
        return KT_OK;
    }
    return kt_db_default_path(buf, len, 0);
}

/* Converts one op's choices (ordered by dims, rank) into tuned points. */
static kt_status to_points(kt_op_id op, const kt_db_choice_row *rows, size_t n,
                           kt_tuned_set *set) {
    kt_tuned_point *pts = calloc(n ? n : 1, sizeof *pts);
    if (!pts) return kt_fail(KT_ENOMEM, "tuned points: out of memory");
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        const kt_db_choice *ch = &rows[i].c;
        size_t mnk[3] = {ch->m, ch->n, ch->k}, dims[3];
        kt_db_dims_unpack(kt_ops[op].ndims, mnk, dims);
        if (np == 0 || memcmp(pts[np - 1].dims, dims, sizeof dims) != 0) {
            memcpy(pts[np].dims, dims, sizeof dims);
            np++;
        }
        kt_tuned_point *p = &pts[np - 1];
        const kt_variant *v = kt_variant_lookup(op, ch->variant);
        if (!v) {
            kt_log(KT_LOG_DEBUG, "%s: tuned variant %s is not in this build; skipped",
                   kt_ops[op].name, ch->variant);
            continue;
        }
        if (v->version != ch->version) {
            kt_log(KT_LOG_DEBUG, "%s: tuned %s is version %u, this build has %u; skipped",
                   kt_ops[op].name, ch->variant, ch->version, v->version);
            continue;
        }
        if (p->nranked < sizeof p->ranked / sizeof p->ranked[0]) p->ranked[p->nranked++] = v;
    }
    set->points[op] = pts;
    set->npoints[op] = np;
    return KT_OK;
}

kt_status kt_tuned_load(kt_tuned_set **out) {
    *out = NULL;
    char path[4096];
    kt_status s = kt_tuned_db_path(path, sizeof path);
    if (s != KT_OK) return s;
    struct stat st;
    if (stat(path, &st) != 0) return kt_fail(KT_EDB, "no tuning database at %s", path);
    /*
     * A short lock wait: in rollback-journal mode (a copied or converted file, a
     * filesystem without shared memory) a writer's lock blocks readers, and the program
     * must not stall on its tuning.  The defaults serve instead (the caller warns once).
     */
    kt_db *db;
    const kt_db_options opt = {0, KT_DB_LIBRARY_BUSY_MS, NULL};
    if ((s = kt_db_open(path, &opt, &db)) != KT_OK) return s;
    kt_tuned_set *set = calloc(1, sizeof *set);
    if (!set) {
        kt_db_close(db);
        return kt_fail(KT_ENOMEM, "tuned set: out of memory");
    }
    /* One query: the choices of this machine (by its id), every op, ordered by op. */
    kt_db_dump d;
    s = kt_db_dump_read(db, kt_fingerprint(), KT_DB_DUMP_CHOICES, &d);
    for (size_t i = 0, j; s == KT_OK && i < d.nchoices; i = j) {
        for (j = i + 1; j < d.nchoices && !strcmp(d.choices[j].op, d.choices[i].op); j++) {}
        kt_op_id op = kt_op_find(d.choices[i].op);
        if (op == KT_OP_NONE) {
            kt_log(KT_LOG_DEBUG, "tuned op %s is not in this build; skipped", d.choices[i].op);
            continue;
        }
        s = to_points(op, &d.choices[i], j - i, set);
    }
    kt_db_dump_free(&d);
    kt_db_close(db);
    if (s != KT_OK) {
        kt_tuned_set_free(set);
        return s;
    }
    *out = set;
    return KT_OK;
}
