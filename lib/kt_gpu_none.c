/* The GPU probe of a build without CUDA: no device, and the reason says why. */
#include "config.h"

#include "kt_internal.h"

static const kt_gpu kt_no_gpu = {
    .why_none = "built without CUDA (configure found no nvcc; see --with-cuda)",
    .cublas_why = "built without CUDA",
};
static _Thread_local kt_gpu_timing kt_no_timing;

const kt_gpu *kt_gpu_get(void) { return &kt_no_gpu; }
void kt_gpu_timing_enable(int on) { (void)on; }
const kt_gpu_timing *kt_gpu_timing_last(void) { return &kt_no_timing; }
