/* A plugin whose registration fails (a name without a namespace): the loader must say so. */
#include <ktune_op.h>

static kt_status nothing(const size_t d[3], uint64_t s, int r, void **o) {
    (void)d, (void)s, (void)r, (void)o;
    return KT_ENOMEM;
}

__attribute__((constructor)) static void bad_plugin_init(void) {
    kt_op op = {.name = "NoNamespace", .ndims = 1, .problem_new = nothing};
    kt_op_register(&op, NULL);
}
