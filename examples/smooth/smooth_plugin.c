/*
 * The plugin: `ktune tune --plugin ./libsmooth.so` loads it, and its
 * constructor registers myapp.smooth_f32 with every variant built in.  A
 * failure is recorded by the library (kt_last_error) and reported by the
 * loader; the constructor itself stays silent.
 */
#include "smooth.h"

__attribute__((constructor)) static void smooth_plugin_init(void) { smooth_register_all(); }
