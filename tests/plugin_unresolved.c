/* A plugin that needs a function nobody defines: dlopen (RTLD_NOW) must fail cleanly. */
#include <ktune_op.h>

kt_status kt_no_such_function(void);

__attribute__((constructor)) static void unresolved_plugin_init(void) { kt_no_such_function(); }
