/* Parsing of size lists: "1000,1e6,2^20,4M" and geometric ranges "1:2^27" or "1k:1M:4". */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kt_cli.h"

/* The most steps a range may take to expand (each a multiplication). */
#define MAX_STEPS 1000000

/* snprintf into err when there is one; returns -1 (the parser's failure). */
static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...) {
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

size_t kt_sizes_limit(void) {
    size_t ram = kt_cpu_get()->ram;
    return ram ? ram : (size_t)1 << 48; /* unknown: far beyond any machine's memory */
}

/* One size: integer, 1e6, 2^20, with optional k/M/G (powers of 1024), at most limit. */
static int parse_one(const char *s, size_t limit, size_t *out, char *err, size_t errlen) {
    char *end;
    double v;
    errno = 0;
    if (strchr(s, '^')) {
        long base = strtol(s, &end, 10);
        if (*end != '^' || base < 2) return fail(err, errlen, "bad size '%.40s'", s);
        long e = strtol(end + 1, &end, 10);
        if (e < 0 || e > 62) return fail(err, errlen, "bad size '%.40s' (exponent 0 to 62)", s);
        v = pow((double)base, (double)e);
    } else {
        v = strtod(s, &end);
    }
    if (end == s) return fail(err, errlen, "bad size '%.40s'", s);
    if (*end == 'k' || *end == 'K') v *= 1024, end++;
    else if (*end == 'M') v *= 1048576, end++;
    else if (*end == 'G') v *= 1073741824.0, end++;
    if (*end) return fail(err, errlen, "bad size '%.40s'", s);
    if (!(v >= 1) || v != floor(v))
        return fail(err, errlen, "bad size '%.40s' (a whole number from 1)", s);
    if (errno == ERANGE || v > (double)limit)
        return fail(err, errlen,
                    "size '%.40s' is larger than any problem this machine could hold "
                    "(at most %zu, its memory in bytes)", s, limit);
    *out = (size_t)v;
    return 0;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Appends x to v (len, cap), dropping a repeat of the last value; -1 past the cap. */
static int append(size_t **v, size_t *len, size_t *cap, size_t x) {
    if (*len && (*v)[*len - 1] == x) return 0;
    if (*len == KT_SIZES_MAX_COUNT) return -1;
    if (*len == *cap) {
        size_t *nv = realloc(*v, (*cap *= 2) * sizeof **v);
        if (!nv) return -2;
        *v = nv;
    }
    (*v)[(*len)++] = x;
    return 0;
}

int kt_sizes_parse(const char *spec, size_t **out, size_t *n) {
    return kt_sizes_parse_msg(spec, out, n, NULL, 0);
}

int kt_sizes_parse_msg(const char *spec, size_t **out, size_t *n, char *err, size_t errlen) {
    size_t cap = 16, len = 0, limit = kt_sizes_limit();
    size_t *v = malloc(cap * sizeof *v);
    char *copy = strdup(spec);
    if (!v || !copy) {
        free(v);
        free(copy);
        return fail(err, errlen, "out of memory");
    }
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && !rc;
         tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok)) tok++;
        char *c1 = strchr(tok, ':');
        size_t lo, hi;
        double factor = 2.0;
        if (c1) {
            *c1 = '\0';
            char *c2 = strchr(c1 + 1, ':');
            if (c2) {
                *c2 = '\0';
                char *end;
                factor = strtod(c2 + 1, &end);
                if (*end || end == c2 + 1 || !(factor > 1.0) || factor > 1e6) {
                    rc = fail(err, errlen, "bad factor '%.40s' in a range (more than 1, at "
                              "most 1e6)", c2 + 1);
                    break;
                }
            }
            if (parse_one(tok, limit, &lo, err, errlen) ||
                parse_one(c1 + 1, limit, &hi, err, errlen)) {
                rc = -1;
                break;
            }
            if (hi < lo) {
                rc = fail(err, errlen, "range %zu:%zu ends below its start", lo, hi);
                break;
            }
            /* the steps of the range, counted before expanding it (most may round to
             * the same size, but a factor of 1.0000001 would take forever) */
            double steps = floor(log((double)hi / (double)lo) / log(factor) + 1e-9) + 1;
            if (!(steps <= MAX_STEPS)) {
                rc = fail(err, errlen, "range %zu:%zu:%g has %.0f steps, more than %d "
                          "(use a larger factor)", lo, hi, factor, steps, MAX_STEPS);
                break;
            }
        } else if (parse_one(tok, limit, &lo, err, errlen)) {
            rc = -1;
            break;
        } else {
            hi = lo;
        }
        for (double x = (double)lo; x <= (double)hi * (1 + 1e-9); x *= factor) {
            int a = append(&v, &len, &cap, (size_t)llround(x));
            if (a) {
                rc = a == -2 ? fail(err, errlen, "out of memory")
                             : fail(err, errlen, "more than %d sizes (use a larger factor or "
                                    "a shorter range)", KT_SIZES_MAX_COUNT);
                break;
            }
            if (lo == hi) break;
        }
    }
    free(copy);
    if (!rc && len == 0) rc = fail(err, errlen, "no sizes in '%.40s'", spec);
    if (rc) {
        free(v);
        return -1;
    }
    qsort(v, len, sizeof *v, cmp_size);
    size_t u = 0;
    for (size_t i = 0; i < len; i++)
        if (u == 0 || v[i] != v[u - 1]) v[u++] = v[i];
    *out = v;
    *n = u;
    return 0;
}
