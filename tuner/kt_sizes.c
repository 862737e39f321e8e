/* Parsing of size lists: "1000,1e6,2^20,4M" and geometric ranges "1:2^27" or "1k:1M:4". */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt_cli.h"

/* One size: integer, 1e6, 2^20, with optional k/M/G (powers of 1024). */
static int parse_one(const char *s, size_t *out) {
    char *end;
    double v;
    errno = 0;
    if (strchr(s, '^')) {
        long base = strtol(s, &end, 10);
        if (*end != '^' || base < 2) return -1;
        long e = strtol(end + 1, &end, 10);
        if (e < 0 || e > 62) return -1;
        v = pow((double)base, (double)e);
    } else {
        v = strtod(s, &end);
    }
    if (errno || end == s) return -1;
    if (*end == 'k' || *end == 'K') v *= 1024, end++;
    else if (*end == 'M') v *= 1048576, end++;
    else if (*end == 'G') v *= 1073741824.0, end++;
    if (*end || !(v >= 1) || v > 9.0e15 || v != floor(v)) return -1;
    *out = (size_t)v;
    return 0;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int kt_sizes_parse(const char *spec, size_t **out, size_t *n) {
    size_t cap = 16, len = 0;
    size_t *v = malloc(cap * sizeof *v);
    char *copy = strdup(spec);
    if (!v || !copy) {
        free(v);
        free(copy);
        return -1;
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
                if (*end || !(factor > 1.0) || factor > 1e6) rc = -1;
            }
            if (rc || parse_one(tok, &lo) || parse_one(c1 + 1, &hi) || hi < lo) {
                rc = -1;
                break;
            }
        } else if (parse_one(tok, &lo)) {
            rc = -1;
            break;
        } else {
            hi = lo;
        }
        for (double x = (double)lo; x <= (double)hi * (1 + 1e-9); x *= factor) {
            if (len == cap) {
                size_t *nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) {
                    rc = -1;
                    break;
                }
                v = nv;
            }
            v[len++] = (size_t)llround(x);
            if (lo == hi) break;
        }
    }
    free(copy);
    if (rc || len == 0) {
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
