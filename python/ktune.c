/*
 * ktune for Python: a CPython extension module over libktune.
 *
 * Every function takes any object with the buffer protocol (numpy arrays,
 * array.array, memoryview, ...), reads its format, shape and strides, maps
 * them to the library's element type, increments and leading dimensions, and
 * calls the dispatched entry point (or, through ktune.call, a named variant).
 * Nothing is copied unless the caller asks with copy=True; a layout the C API
 * cannot express is a ValueError that says so.  Library failures become
 * Python exceptions carrying kt_last_error()'s message, and the library
 * guarantees that nothing was written.  The GIL is released around calls
 * above a small size so that threaded programs run concurrently.
 *
 * Only the public API (ktune.h) is used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include <ktune.h>

/* Calls at least this large (elements, or multiply-adds for gemv/gemm) release the GIL.
 * The release and re-acquire cost about 40 ns (AMD EPYC Zen 2: ktune.add_scalar at 4095
 * elements 678 ns, at 4096 716 ns); from 32768 elements (3 us or more of streaming) or
 * 65536 multiply-adds that is a percent or two of the call; at 4096, 5% (at 1e4 elements
 * the release alone put ktune.add_scalar behind a Numba loop that keeps the GIL). */
#define KTPY_NOGIL_VEC 32768
#define KTPY_NOGIL_MAT 65536

static PyObject *ktpy_error;    /* ktune.Error: the variant cannot run, device, database, ... */
static PyObject *ktpy_np_empty; /* numpy.empty, imported the first time an output is created */

/* ---- element types ------------------------------------------------------------------ */

typedef enum { DT_NONE = -1, DT_F32 = 0, DT_F64 = 1, DT_I64 = 2 } ktpy_dtype;

static const char *const dt_names[] = {"float32", "float64", "int64"};
static const char *const dt_suffix[] = {"f32", "f64", "i64"};

static const size_t dt_size[] = {4, 8, 8};

/* The element type of a buffer format ("d", "<f", "=q", ...), or DT_NONE. */
static ktpy_dtype dtype_of(const char *fmt, Py_ssize_t itemsize) {
    if (!fmt) fmt = "B";
    if (*fmt == '@' || *fmt == '=' || (*fmt == '<' && PY_LITTLE_ENDIAN) ||
        (*fmt == '>' && !PY_LITTLE_ENDIAN))
        fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0') return DT_NONE;
    switch (fmt[0]) {
    case 'f':
        return itemsize == 4 ? DT_F32 : DT_NONE;
    case 'd':
        return itemsize == 8 ? DT_F64 : DT_NONE;
    case 'l':
    case 'q':
        return itemsize == 8 ? DT_I64 : DT_NONE;
    default:
        return DT_NONE;
    }
}

/* A readable name of an unsupported buffer format, for error messages. */
static const char *format_name(const char *fmt) {
    static const struct {
        char c;
        const char *name;
    } names[] = {
        {'b', "int8"},    {'B', "uint8"},      {'h', "int16"},  {'H', "uint16"},
        {'i', "int32"},   {'I', "uint32"},     {'L', "uint64"}, {'Q', "uint64"},
        {'e', "float16"}, {'g', "longdouble"}, {'?', "bool"},   {'l', "int32"},
    };
    if (!fmt) return "uint8";
    const char *f = fmt;
    if (*f == '@' || *f == '=' || *f == '<' || *f == '>' || *f == '!') f++;
    if (f != fmt && (*fmt == '>' || *fmt == '!') && PY_LITTLE_ENDIAN)
        return "non-native byte order";
    if (f != fmt && *fmt == '<' && !PY_LITTLE_ENDIAN) return "non-native byte order";
    if (f[0] == 'Z') return "complex";
    if (f[0] && !f[1])
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (names[i].c == f[0]) return names[i].name;
    return "an unsupported type";
}

/* ---- operations ------------------------------------------------------------------- */

typedef enum { OP_ADD_SCALAR, OP_AXPY, OP_DOT, OP_GEMV, OP_GEMM, OP_COUNT } ktpy_op;
static const char *const op_base[] = {"add_scalar", "axpy", "dot", "gemv", "gemm"};

/* How a call runs: the dispatched entry point (variant NULL) or one named variant. */
typedef struct {
    const char *variant;
    ktpy_dtype dtype; /* the op's element type when variant is set */
    const char *op;   /* the op's full name when variant is set */
} ktpy_via;

/* Runs op on args through the entry point or kt_call; the caller holds no Python state. */
static kt_status run_op(ktpy_op op, ktpy_dtype dt, const ktpy_via *via, kt_args *a) {
    if (via) return kt_call(via->op, via->variant, a);
    switch (op) {
    case OP_ADD_SCALAR:
        if (dt == DT_I64) return kt_add_scalar_i64(a->n, a->ialpha, a->y);
        if (dt == DT_F32) return kt_add_scalar_f32(a->n, (float)a->alpha, a->y);
        return kt_add_scalar_f64(a->n, a->alpha, a->y);
    case OP_AXPY:
        if (dt == DT_F32) return kt_axpy_f32(a->n, (float)a->alpha, a->x, a->incx, a->y, a->incy);
        return kt_axpy_f64(a->n, a->alpha, a->x, a->incx, a->y, a->incy);
    case OP_DOT:
        if (dt == DT_F32) {
            float r = 0;
            kt_status s = kt_dot_f32(a->n, a->x, a->incx, a->y, a->incy, &r);
            a->result = r;
            return s;
        }
        return kt_dot_f64(a->n, a->x, a->incx, a->y, a->incy, &a->result);
    case OP_GEMV:
        if (dt == DT_F32)
            return kt_gemv_f32(a->layout, a->transa, a->m, a->n, (float)a->alpha, a->a, a->lda,
                               a->x, a->incx, (float)a->beta, a->y, a->incy);
        return kt_gemv_f64(a->layout, a->transa, a->m, a->n, a->alpha, a->a, a->lda, a->x, a->incx,
                           a->beta, a->y, a->incy);
    case OP_GEMM:
        if (dt == DT_F32)
            return kt_gemm_f32(a->layout, a->transa, a->transb, a->m, a->n, a->k, (float)a->alpha,
                               a->a, a->lda, a->b, a->ldb, (float)a->beta, a->c, a->ldc);
        return kt_gemm_f64(a->layout, a->transa, a->transb, a->m, a->n, a->k, a->alpha, a->a,
                           a->lda, a->b, a->ldb, a->beta, a->c, a->ldc);
    default:
        return KT_EINTERNAL;
    }
}

/* Raises the Python exception for a library failure, with the library's message. */
static PyObject *raise_status(kt_status s) {
    const char *msg = kt_last_error();
    if (!msg || !*msg) msg = kt_strerror(s);
    PyObject *type;
    switch (s) {
    case KT_EINVAL:
    case KT_ENOTFOUND:
        type = PyExc_ValueError;
        break;
    case KT_ENOMEM:
        type = PyExc_MemoryError;
        break;
    default:
        type = ktpy_error;
        break;
    }
    PyErr_SetString(type, msg);
    return NULL;
}

/* ---- argument parsing (vectorcall: positional, then keywords) ------------------------ */

/*
 * Fills out[i] (borrowed, NULL when absent) from positional args and keywords by the names
 * in kw (NULL-terminated); the first nreq are required.  Returns 0, or -1 with TypeError.
 */
static int parse_args(const char *fn, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                      const char *const *kw, int nreq, PyObject **out) {
    int nparams = 0;
    while (kw[nparams]) nparams++;
    if (nargs > nparams) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", fn, nparams,
                     nargs);
        return -1;
    }
    for (int i = 0; i < nparams; i++) out[i] = i < nargs ? args[i] : NULL;
    if (kwnames) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t j = 0; j < nkw; j++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, j);
            const char *s = PyUnicode_AsUTF8(name);
            if (!s) return -1;
            int i = 0;
            while (i < nparams && strcmp(kw[i], s) != 0) i++;
            if (i == nparams) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", fn,
                             s);
                return -1;
            }
            if (out[i]) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fn, s);
                return -1;
            }
            out[i] = args[nargs + j];
        }
    }
    for (int i = 0; i < nreq; i++)
        if (!out[i]) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %d)", fn, kw[i],
                         i + 1);
            return -1;
        }
    return 0;
}

/* A real number argument (int, float, numpy scalar); absent gives def. */
static int get_real(const char *fn, const char *name, PyObject *o, double def, double *out) {
    if (!o) {
        *out = def;
        return 0;
    }
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    if (PyComplex_Check(o) || !(PyFloat_Check(o) || PyNumber_Check(o))) {
        PyErr_Format(PyExc_TypeError, "%s(): %s must be a real number, not %.100s", fn, name,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s(): %s must be a real number, not %.100s", fn, name,
                         Py_TYPE(o)->tp_name);
        }
        return -1;
    }
    *out = v;
    return 0;
}

/* A truth value argument; absent gives 0. */
static int get_flag(PyObject *o) { return o ? PyObject_IsTrue(o) : 0; }

/* ---- operands -------------------------------------------------------------------------- */

/*
 * One array argument: its buffer, element type and, once resolved, the pointer, increment
 * or leading dimension handed to the library.  With copy=True an operand the C API cannot
 * address is gathered into a contiguous temporary (tmp), written back after a successful
 * call when it is an output.
 */
typedef struct {
    const char *name;
    Py_buffer view;
    int held;
    ktpy_dtype dt;
    size_t isz;
    char *ptr;         /* what the library gets */
    ptrdiff_t inc;     /* vectors */
    size_t rows, cols; /* matrices (the Python shape) */
    size_t ld;
    int colmajor; /* the matrix is stored column by column */
    char *tmp;
    int output;
} ktpy_arr;

static void arr_release(ktpy_arr *a) {
    if (a->tmp) PyMem_Free(a->tmp);
    a->tmp = NULL;
    if (a->held) PyBuffer_Release(&a->view);
    a->held = 0;
}

/*
 * Takes the buffer of obj for operand `name` of fn; an output must be writable.  Wrong
 * types are TypeError, a read-only output ValueError.  Returns 0 or -1.
 */
static int arr_get(const char *fn, const char *name, PyObject *obj, int output, ktpy_arr *a) {
    memset(a, 0, sizeof *a);
    a->name = name;
    a->output = output;
    if (PyObject_GetBuffer(obj, &a->view, PyBUF_RECORDS_RO) != 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "%s(): %s must be an array (an object with the buffer protocol, such as "
                         "a numpy array), not %.100s",
                         fn, name, Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    a->held = 1;
    a->dt = dtype_of(a->view.format, a->view.itemsize);
    if (a->dt == DT_NONE) {
        PyErr_Format(PyExc_TypeError,
                     "%s(): %s has element type %s (buffer format '%s'); ktune takes float32, "
                     "float64 (and int64 for add_scalar)",
                     fn, name, format_name(a->view.format), a->view.format ? a->view.format : "B");
        arr_release(a);
        return -1;
    }
    a->isz = dt_size[a->dt];
    if (output && a->view.readonly) {
        PyErr_Format(PyExc_ValueError, "%s(): %s is read-only", fn, name);
        arr_release(a);
        return -1;
    }
    return 0;
}

/* The type check shared by every operation: float32/float64 (int64 where allowed), all alike. */
static int check_dtypes(const char *fn, const ktpy_via *via, int allow_i64, ktpy_arr *const *arrs,
                        int narr) {
    ktpy_dtype dt = arrs[0]->dt;
    if (dt == DT_I64 && !allow_i64) {
        PyErr_Format(PyExc_TypeError, "%s(): %s is int64; %s takes float32 or float64 arrays", fn,
                     arrs[0]->name, fn);
        return -1;
    }
    for (int i = 1; i < narr; i++)
        if (arrs[i]->dt != dt) {
            PyErr_Format(PyExc_TypeError, "%s(): mixed element types: %s is %s but %s is %s", fn,
                         arrs[0]->name, dt_names[dt], arrs[i]->name, dt_names[arrs[i]->dt]);
            return -1;
        }
    if (via && via->dtype != dt) {
        PyErr_Format(PyExc_TypeError, "call(): %s takes %s arrays, %s is %s", via->op,
                     dt_names[via->dtype], arrs[0]->name, dt_names[dt]);
        return -1;
    }
    return 0;
}

/* Gathers (to_dense) or scatters a strided N-d buffer from/to a dense C-ordered one. */
static void copy_nd(int ndim, const Py_ssize_t *shape, const Py_ssize_t *strides, size_t isz,
                    char *strided, char **dense, int to_dense) {
    if (ndim == 0) {
        if (to_dense)
            memcpy(*dense, strided, isz);
        else
            memcpy(strided, *dense, isz);
        *dense += isz;
        return;
    }
    for (Py_ssize_t i = 0; i < shape[0]; i++)
        copy_nd(ndim - 1, shape + 1, strides + 1, isz, strided + i * strides[0], dense, to_dense);
}

/* Gathers the whole buffer of a into a new C-ordered temporary (a->tmp). */
static int arr_gather(ktpy_arr *a) {
    size_t n = (size_t)(a->view.len / a->view.itemsize);
    a->tmp = PyMem_Malloc(n ? n * a->isz : 1);
    if (!a->tmp) {
        PyErr_NoMemory();
        return -1;
    }
    char *d = a->tmp;
    if (a->view.strides)
        copy_nd(a->view.ndim, a->view.shape, a->view.strides, a->isz, a->view.buf, &d, 1);
    else
        memcpy(a->tmp, a->view.buf, n * a->isz);
    return 0;
}

/* Writes a gathered output back (after a successful call). */
static void arr_scatter(ktpy_arr *a) {
    if (!a->tmp || !a->output) return;
    char *d = a->tmp;
    size_t n = (size_t)(a->view.len / a->view.itemsize);
    if (a->view.strides)
        copy_nd(a->view.ndim, a->view.shape, a->view.strides, a->isz, a->view.buf, &d, 0);
    else
        memcpy(a->view.buf, a->tmp, n * a->isz);
}

static int aligned(const void *p, size_t isz) { return ((uintptr_t)p % isz) == 0; }

static const char copy_hint[] = "; pass copy=True to work on a contiguous copy";

/* Resolves a as a vector (1-d): pointer and BLAS increment; *n its length. */
static int arr_vector(const char *fn, ktpy_arr *a, int copy, size_t *n) {
    if (a->view.ndim != 1) {
        PyErr_Format(PyExc_ValueError, "%s(): %s must be 1-dimensional, not %d-dimensional", fn,
                     a->name, a->view.ndim);
        return -1;
    }
    Py_ssize_t len = a->view.shape[0];
    Py_ssize_t st = a->view.strides ? a->view.strides[0] : (Py_ssize_t)a->isz;
    *n = (size_t)len;
    a->ptr = a->view.buf;
    a->inc = 1;
    if (len <= 1 && aligned(a->ptr, a->isz)) return 0;
    if (st % (Py_ssize_t)a->isz == 0 && aligned(a->ptr, a->isz)) {
        a->inc = st / (Py_ssize_t)a->isz;
        /* BLAS addresses a negative increment from the lowest element */
        if (a->inc < 0) a->ptr += (len - 1) * st;
        return 0;
    }
    if (!copy) {
        PyErr_Format(PyExc_ValueError,
                     "%s(): %s is not addressable by the C API (%s; stride %zd bytes, element "
                     "%zu bytes)%s",
                     fn, a->name,
                     aligned(a->ptr, a->isz) ? "stride not a multiple of the element"
                                             : "misaligned data",
                     st, a->isz, copy_hint);
        return -1;
    }
    if (arr_gather(a) != 0) return -1;
    a->ptr = a->tmp;
    a->inc = 1;
    return 0;
}

/*
 * Resolves a as a matrix (2-d): row-major (rows contiguous) or column-major (columns
 * contiguous) with its leading dimension; prefer_col picks one when both hold (a single
 * row or column).
 */
static int arr_matrix(const char *fn, ktpy_arr *a, int copy, int prefer_col) {
    if (a->view.ndim != 2) {
        PyErr_Format(PyExc_ValueError, "%s(): %s must be 2-dimensional, not %d-dimensional", fn,
                     a->name, a->view.ndim);
        return -1;
    }
    Py_ssize_t r = a->view.shape[0], c = a->view.shape[1], isz = (Py_ssize_t)a->isz;
    Py_ssize_t s0 = a->view.strides ? a->view.strides[0] : c * isz;
    Py_ssize_t s1 = a->view.strides ? a->view.strides[1] : isz;
    a->rows = (size_t)r;
    a->cols = (size_t)c;
    a->ptr = a->view.buf;
    int ok_align = aligned(a->ptr, a->isz);
    if (r == 0 || c == 0) { /* empty: no element is addressed, any layout will do */
        a->colmajor = prefer_col;
        a->ld = (size_t)(prefer_col ? (r > 1 ? r : 1) : (c > 1 ? c : 1));
        return 0;
    }
    int row =
        ok_align && (c <= 1 || s1 == isz) && (r <= 1 || (s0 > 0 && s0 % isz == 0 && s0 / isz >= c));
    int col =
        ok_align && (r <= 1 || s0 == isz) && (c <= 1 || (s1 > 0 && s1 % isz == 0 && s1 / isz >= r));
    if (row && col) {
        row = !prefer_col;
        col = prefer_col;
    }
    if (row) {
        a->colmajor = 0;
        a->ld = r <= 1 ? (size_t)(c > 1 ? c : 1) : (size_t)(s0 / isz);
        return 0;
    }
    if (col) {
        a->colmajor = 1;
        a->ld = c <= 1 ? (size_t)(r > 1 ? r : 1) : (size_t)(s1 / isz);
        return 0;
    }
    if (!copy) {
        PyErr_Format(PyExc_ValueError,
                     "%s(): %s is not addressable by the C API (strides (%zd, %zd) bytes%s: "
                     "neither its rows nor its columns are contiguous)%s",
                     fn, a->name, s0, s1, ok_align ? "" : ", misaligned data", copy_hint);
        return -1;
    }
    if (arr_gather(a) != 0) return -1;
    a->ptr = a->tmp;
    a->colmajor = 0;
    a->ld = (size_t)(c > 1 ? c : 1);
    return 0;
}

/* A new uninitialised numpy array (the output of gemv/gemm when none is given). */
static PyObject *new_array(ktpy_dtype dt, size_t d0, size_t d1, int ndim, int fortran) {
    if (!ktpy_np_empty) {
        PyObject *np = PyImport_ImportModule("numpy");
        if (!np) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError,
                            "numpy is not importable here: pass the output array explicitly");
            return NULL;
        }
        ktpy_np_empty = PyObject_GetAttrString(np, "empty");
        Py_DECREF(np);
        if (!ktpy_np_empty) return NULL;
    }
    PyObject *shape = ndim == 1 ? Py_BuildValue("(n)", (Py_ssize_t)d0)
                                : Py_BuildValue("(nn)", (Py_ssize_t)d0, (Py_ssize_t)d1);
    if (!shape) return NULL;
    PyObject *r =
        PyObject_CallFunction(ktpy_np_empty, "Oss", shape, dt_names[dt], fortran ? "F" : "C");
    Py_DECREF(shape);
    return r;
}

/* ---- add_scalar ------------------------------------------------------------------------ */

/* c for add_scalar in the array's type: an integer for int64, a real number otherwise. */
static int get_scalar(const char *fn, PyObject *o, ktpy_dtype dt, kt_args *a) {
    if (dt != DT_I64) return get_real(fn, "c", o, 0, &a->alpha);
    if (!PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s(): c must be an integer for an int64 array, not %.100s",
                     fn, Py_TYPE(o)->tp_name);
        return -1;
    }
    PyObject *i = PyNumber_Index(o);
    if (!i) return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
    Py_DECREF(i);
    if (overflow) {
        PyErr_Format(PyExc_OverflowError, "%s(): c does not fit in int64", fn);
        return -1;
    }
    if (v == -1 && PyErr_Occurred()) return -1;
    a->ialpha = (int64_t)v;
    return 0;
}

/*
 * Finds the dense runs of an N-d buffer: the innermost dimensions (C or Fortran order) whose
 * elements are adjacent merge into one run of `run` elements; the remaining dimensions
 * (outer[], up to 62) are walked.  Returns 1 when found, 0 when no dimension is dense.
 */
typedef struct {
    size_t run;
    int nouter;
    Py_ssize_t shape[PyBUF_MAX_NDIM], stride[PyBUF_MAX_NDIM];
} ktpy_runs;

static int find_runs(const Py_buffer *v, size_t isz, ktpy_runs *r) {
    Py_ssize_t sh[PyBUF_MAX_NDIM], st[PyBUF_MAX_NDIM];
    int nd = 0;
    for (int i = 0; i < v->ndim; i++)
        if (v->shape[i] != 1) {
            sh[nd] = v->shape[i];
            st[nd] = v->strides[i];
            nd++;
        }
    r->run = 1;
    r->nouter = 0;
    if (nd == 0) return 1;
    if (st[nd - 1] != (Py_ssize_t)isz && st[0] == (Py_ssize_t)isz)
        for (int i = 0; i < nd / 2; i++) { /* Fortran order: walk it reversed */
            Py_ssize_t t = sh[i];
            sh[i] = sh[nd - 1 - i];
            sh[nd - 1 - i] = t;
            t = st[i];
            st[i] = st[nd - 1 - i];
            st[nd - 1 - i] = t;
        }
    if (st[nd - 1] != (Py_ssize_t)isz) return 0;
    int k = nd - 1;
    Py_ssize_t run = sh[k];
    while (k > 0 && st[k - 1] == run * (Py_ssize_t)isz) run *= sh[--k];
    r->run = (size_t)run;
    r->nouter = k;
    for (int i = 0; i < k; i++) {
        r->shape[i] = sh[i];
        r->stride[i] = st[i];
    }
    return 1;
}

/* Calls add_scalar on every run; stops at the first failure (which writes nothing). */
static kt_status add_runs(const ktpy_runs *r, char *base, ktpy_dtype dt, const ktpy_via *via,
                          kt_args *a) {
    Py_ssize_t idx[PyBUF_MAX_NDIM] = {0};
    for (;;) {
        char *p = base;
        for (int i = 0; i < r->nouter; i++) p += idx[i] * r->stride[i];
        a->n = r->run;
        a->y = p;
        kt_status s = run_op(OP_ADD_SCALAR, dt, via, a);
        if (s != KT_OK) return s;
        int i = r->nouter - 1;
        while (i >= 0 && ++idx[i] == r->shape[i]) idx[i--] = 0;
        if (i < 0) return KT_OK;
    }
}

static PyObject *do_add_scalar(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                               const ktpy_via *via) {
    static const char *const kw[] = {"a", "c", "copy", NULL};
    const char *fn = "add_scalar";
    PyObject *o[3];
    if (parse_args(fn, args, nargs, kwnames, kw, 2, o) != 0) return NULL;
    int copy = get_flag(o[2]);
    if (copy < 0) return NULL;
    ktpy_arr A;
    if (arr_get(fn, "a", o[0], 1, &A) != 0) return NULL;
    ktpy_arr *arrs[] = {&A};
    kt_args ka;
    memset(&ka, 0, sizeof ka);
    if (check_dtypes(fn, via, 1, arrs, 1) != 0 || get_scalar(fn, o[1], A.dt, &ka) != 0) {
        arr_release(&A);
        return NULL;
    }
    size_t total = (size_t)(A.view.len / A.view.itemsize);
    ktpy_runs runs;
    char *base = A.view.buf;
    if (total == 0) {
        arr_release(&A);
        Py_INCREF(o[0]);
        return o[0];
    }
    if (!aligned(base, A.isz) ||
        !(PyBuffer_IsContiguous(&A.view, 'A') ? (runs.run = total, runs.nouter = 0, 1)
                                              : find_runs(&A.view, A.isz, &runs))) {
        if (!copy) {
            PyErr_Format(PyExc_ValueError, "%s(): a is not addressable by the C API (%s)%s", fn,
                         aligned(base, A.isz) ? "no dimension has adjacent elements"
                                              : "misaligned data",
                         copy_hint);
            arr_release(&A);
            return NULL;
        }
        if (arr_gather(&A) != 0) {
            arr_release(&A);
            return NULL;
        }
        base = A.tmp;
        runs.run = total;
        runs.nouter = 0;
    }
    for (int i = 0; i < runs.nouter; i++)
        if (runs.stride[i] == 0) {
            PyErr_Format(PyExc_ValueError,
                         "%s(): a has overlapping elements (a zero stride): each would be "
                         "added to more than once",
                         fn);
            arr_release(&A);
            return NULL;
        }
    kt_status s;
    if (total >= KTPY_NOGIL_VEC) {
        Py_BEGIN_ALLOW_THREADS s = add_runs(&runs, base, A.dt, via, &ka);
        Py_END_ALLOW_THREADS
    } else {
        s = add_runs(&runs, base, A.dt, via, &ka);
    }
    if (s == KT_OK) arr_scatter(&A);
    arr_release(&A);
    if (s != KT_OK) return raise_status(s);
    Py_INCREF(o[0]);
    return o[0];
}

/* ---- axpy, dot ------------------------------------------------------------------------- */

static PyObject *do_axpy_dot(ktpy_op op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                             const ktpy_via *via) {
    static const char *const kw_axpy[] = {"alpha", "x", "y", "copy", NULL};
    static const char *const kw_dot[] = {"x", "y", "copy", NULL};
    const char *fn = op_base[op];
    PyObject *o[4];
    kt_args ka;
    memset(&ka, 0, sizeof ka);
    PyObject **xy = op == OP_AXPY ? o + 1 : o;
    if (op == OP_AXPY) {
        if (parse_args(fn, args, nargs, kwnames, kw_axpy, 3, o) != 0) return NULL;
        if (get_real(fn, "alpha", o[0], 0, &ka.alpha) != 0) return NULL;
    } else if (parse_args(fn, args, nargs, kwnames, kw_dot, 2, o) != 0) {
        return NULL;
    }
    int copy = get_flag(xy[2]);
    if (copy < 0) return NULL;
    ktpy_arr X, Y;
    if (arr_get(fn, "x", xy[0], 0, &X) != 0) return NULL;
    if (arr_get(fn, "y", xy[1], op == OP_AXPY, &Y) != 0) {
        arr_release(&X);
        return NULL;
    }
    ktpy_arr *arrs[] = {&X, &Y};
    size_t nx, ny;
    PyObject *ret = NULL;
    if (check_dtypes(fn, via, 0, arrs, 2) != 0 || arr_vector(fn, &X, copy, &nx) != 0 ||
        arr_vector(fn, &Y, copy, &ny) != 0)
        goto out;
    if (nx != ny) {
        PyErr_Format(PyExc_ValueError, "%s(): x has %zu elements but y has %zu", fn, nx, ny);
        goto out;
    }
    ka.n = nx;
    ka.x = X.ptr;
    ka.incx = X.inc;
    ka.y = Y.ptr;
    ka.incy = Y.inc;
    kt_status s;
    if (nx >= KTPY_NOGIL_VEC) {
        Py_BEGIN_ALLOW_THREADS s = run_op(op, X.dt, via, &ka);
        Py_END_ALLOW_THREADS
    } else {
        s = run_op(op, X.dt, via, &ka);
    }
    if (s != KT_OK) {
        raise_status(s);
        goto out;
    }
    arr_scatter(&Y);
    if (op == OP_DOT) {
        ret = PyFloat_FromDouble(ka.result);
    } else {
        Py_INCREF(xy[1]);
        ret = xy[1];
    }
out:
    arr_release(&X);
    arr_release(&Y);
    return ret;
}

/* ---- gemv, gemm -------------------------------------------------------------------------- */

/* y = beta * y over a resolved vector (0 when beta is 0: y is never read then). */
static void scale_vector(ktpy_arr *y, size_t n, double beta) {
    ptrdiff_t start = y->inc < 0 ? -(ptrdiff_t)(n - 1) * y->inc : 0;
    for (size_t i = 0; i < n; i++) {
        char *p = y->ptr + (start + (ptrdiff_t)i * y->inc) * (ptrdiff_t)y->isz;
        if (y->dt == DT_F32)
            *(float *)p = beta == 0.0 ? 0.0f : (float)beta * *(float *)p;
        else
            *(double *)p = beta == 0.0 ? 0.0 : beta * *(double *)p;
    }
}

static PyObject *do_gemv(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                         const ktpy_via *via) {
    static const char *const kw[] = {"A", "x", "y", "alpha", "beta", "trans", "copy", NULL};
    const char *fn = "gemv";
    PyObject *o[7];
    kt_args ka;
    memset(&ka, 0, sizeof ka);
    if (parse_args(fn, args, nargs, kwnames, kw, 2, o) != 0) return NULL;
    if (o[2] == Py_None) o[2] = NULL;
    int trans = get_flag(o[5]), copy = get_flag(o[6]);
    if (trans < 0 || copy < 0 || get_real(fn, "alpha", o[3], 1.0, &ka.alpha) != 0 ||
        get_real(fn, "beta", o[4], 0.0, &ka.beta) != 0)
        return NULL;
    if (!o[2] && ka.beta != 0.0) {
        PyErr_Format(PyExc_ValueError, "%s(): beta = %g needs y (y=None makes a new output)", fn,
                     ka.beta);
        return NULL;
    }
    ktpy_arr A, X, Y;
    Y.held = 0;
    Y.tmp = NULL;
    PyObject *yobj = NULL, *ret = NULL;
    if (arr_get(fn, "A", o[0], 0, &A) != 0) return NULL;
    if (arr_get(fn, "x", o[1], 0, &X) != 0) {
        arr_release(&A);
        return NULL;
    }
    ktpy_arr *arrs[] = {&A, &X};
    size_t nx, ny;
    if (check_dtypes(fn, via, 0, arrs, 2) != 0 || arr_matrix(fn, &A, copy, 0) != 0 ||
        arr_vector(fn, &X, copy, &nx) != 0)
        goto out;
    size_t want_x = trans ? A.rows : A.cols, want_y = trans ? A.cols : A.rows;
    if (nx != want_x) {
        PyErr_Format(PyExc_ValueError, "%s(): A is %zu x %zu%s, so x needs %zu elements, not %zu",
                     fn, A.rows, A.cols, trans ? " (transposed)" : "", want_x, nx);
        goto out;
    }
    if (o[2]) {
        yobj = o[2];
        Py_INCREF(yobj);
    } else if (!(yobj = new_array(A.dt, want_y, 0, 1, 0))) {
        goto out;
    }
    if (arr_get(fn, "y", yobj, 1, &Y) != 0) goto out;
    arrs[1] = &Y;
    if (check_dtypes(fn, via, 0, arrs, 2) != 0 || arr_vector(fn, &Y, copy, &ny) != 0) goto out;
    if (ny != want_y) {
        PyErr_Format(PyExc_ValueError, "%s(): A is %zu x %zu%s, so y needs %zu elements, not %zu",
                     fn, A.rows, A.cols, trans ? " (transposed)" : "", want_y, ny);
        goto out;
    }
    if (want_x == 0 && want_y > 0) { /* y = beta * y, as numpy's A @ x (BLAS leaves y) */
        scale_vector(&Y, want_y, ka.beta);
        arr_scatter(&Y);
        ret = yobj;
        yobj = NULL;
        goto out;
    }
    ka.layout = A.colmajor ? KT_COL_MAJOR : KT_ROW_MAJOR;
    ka.transa = trans ? KT_TRANS : KT_NOTRANS;
    ka.m = A.rows;
    ka.n = A.cols;
    ka.a = A.ptr;
    ka.lda = A.ld;
    ka.x = X.ptr;
    ka.incx = X.inc;
    ka.y = Y.ptr;
    ka.incy = Y.inc;
    kt_status s;
    if (A.rows * A.cols >= KTPY_NOGIL_MAT) {
        Py_BEGIN_ALLOW_THREADS s = run_op(OP_GEMV, A.dt, via, &ka);
        Py_END_ALLOW_THREADS
    } else {
        s = run_op(OP_GEMV, A.dt, via, &ka);
    }
    if (s != KT_OK) {
        raise_status(s);
        goto out;
    }
    arr_scatter(&Y);
    ret = yobj;
    yobj = NULL;
out:
    arr_release(&A);
    arr_release(&X);
    arr_release(&Y);
    Py_XDECREF(yobj);
    return ret;
}

/* The transposition flag of an operand stored in the other layout than the call's. */
static kt_trans flip(kt_trans t) { return t == KT_TRANS ? KT_NOTRANS : KT_TRANS; }

static PyObject *do_gemm(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                         const ktpy_via *via) {
    static const char *const kw[] = {"A",      "B",      "C",    "alpha", "beta",
                                     "transa", "transb", "copy", NULL};
    const char *fn = "gemm";
    PyObject *o[8];
    kt_args ka;
    memset(&ka, 0, sizeof ka);
    if (parse_args(fn, args, nargs, kwnames, kw, 2, o) != 0) return NULL;
    if (o[2] == Py_None) o[2] = NULL;
    int ta = get_flag(o[5]), tb = get_flag(o[6]), copy = get_flag(o[7]);
    if (ta < 0 || tb < 0 || copy < 0 || get_real(fn, "alpha", o[3], 1.0, &ka.alpha) != 0 ||
        get_real(fn, "beta", o[4], 0.0, &ka.beta) != 0)
        return NULL;
    if (!o[2] && ka.beta != 0.0) {
        PyErr_Format(PyExc_ValueError, "%s(): beta = %g needs C (C=None makes a new output)", fn,
                     ka.beta);
        return NULL;
    }
    ktpy_arr A, B, C;
    C.held = 0;
    C.tmp = NULL;
    PyObject *cobj = NULL, *ret = NULL;
    if (arr_get(fn, "A", o[0], 0, &A) != 0) return NULL;
    if (arr_get(fn, "B", o[1], 0, &B) != 0) {
        arr_release(&A);
        return NULL;
    }
    ktpy_arr *arrs[] = {&A, &B, &C};
    if (check_dtypes(fn, via, 0, arrs, 2) != 0 || arr_matrix(fn, &A, copy, 0) != 0 ||
        arr_matrix(fn, &B, copy, 0) != 0)
        goto out;
    size_t m = ta ? A.cols : A.rows, k = ta ? A.rows : A.cols;
    size_t kb = tb ? B.cols : B.rows, n = tb ? B.rows : B.cols;
    if (k != kb) {
        PyErr_Format(PyExc_ValueError,
                     "%s(): op(A) is %zu x %zu but op(B) is %zu x %zu: the inner dimensions "
                     "differ",
                     fn, m, k, kb, n);
        goto out;
    }
    if (o[2]) {
        cobj = o[2];
        Py_INCREF(cobj);
    } else if (!(cobj = new_array(A.dt, m, n, 2, 0))) {
        goto out;
    }
    if (arr_get(fn, "C", cobj, 1, &C) != 0) goto out;
    if (check_dtypes(fn, via, 0, arrs, 3) != 0 || arr_matrix(fn, &C, copy, 0) != 0) goto out;
    if (C.rows != m || C.cols != n) {
        PyErr_Format(PyExc_ValueError, "%s(): C is %zu x %zu but op(A) op(B) is %zu x %zu", fn,
                     C.rows, C.cols, m, n);
        goto out;
    }
    /* C's layout is the call's; an operand stored the other way is its transpose in it */
    ka.layout = C.colmajor ? KT_COL_MAJOR : KT_ROW_MAJOR;
    ka.transa = ta ? KT_TRANS : KT_NOTRANS;
    ka.transb = tb ? KT_TRANS : KT_NOTRANS;
    if (A.colmajor != C.colmajor) ka.transa = flip(ka.transa);
    if (B.colmajor != C.colmajor) ka.transb = flip(ka.transb);
    ka.m = m;
    ka.n = n;
    ka.k = k;
    ka.a = A.ptr;
    ka.lda = A.ld;
    ka.b = B.ptr;
    ka.ldb = B.ld;
    ka.c = C.ptr;
    ka.ldc = C.ld;
    kt_status s;
    if (m * n * k >= KTPY_NOGIL_MAT) {
        Py_BEGIN_ALLOW_THREADS s = run_op(OP_GEMM, A.dt, via, &ka);
        Py_END_ALLOW_THREADS
    } else {
        s = run_op(OP_GEMM, A.dt, via, &ka);
    }
    if (s != KT_OK) {
        raise_status(s);
        goto out;
    }
    arr_scatter(&C);
    ret = cobj;
    cobj = NULL;
out:
    arr_release(&A);
    arr_release(&B);
    arr_release(&C);
    Py_XDECREF(cobj);
    return ret;
}

/* ---- module functions ---------------------------------------------------------------- */

static PyObject *py_add_scalar(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames) {
    (void)self;
    return do_add_scalar(args, nargs, kwnames, NULL);
}

static PyObject *py_axpy(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    (void)self;
    return do_axpy_dot(OP_AXPY, args, nargs, kwnames, NULL);
}

static PyObject *py_dot(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames) {
    (void)self;
    return do_axpy_dot(OP_DOT, args, nargs, kwnames, NULL);
}

static PyObject *py_gemv(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    (void)self;
    return do_gemv(args, nargs, kwnames, NULL);
}

static PyObject *py_gemm(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    (void)self;
    return do_gemm(args, nargs, kwnames, NULL);
}

/* An operation name argument as a C string, or NULL with TypeError. */
static const char *get_str(const char *fn, const char *what, PyObject *o) {
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s(): %s must be a str, not %.100s", fn, what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    return PyUnicode_AsUTF8(o);
}

/* Whether op names an operation of the library. */
static int op_known(const char *op) {
    for (size_t i = 0; i < kt_op_count(); i++)
        if (strcmp(kt_op_name(i), op) == 0) return 1;
    return 0;
}

static PyObject *unknown_op(const char *fn, const char *op) {
    PyErr_Format(PyExc_ValueError, "%s(): no operation named '%s' (ktune.info()['ops'] lists them)",
                 fn, op);
    return NULL;
}

static PyObject *py_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    (void)self;
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call() needs the operation and the variant first: "
                                         "call(op, variant, *args, **kwargs)");
        return NULL;
    }
    ktpy_via via;
    via.op = get_str("call", "op", args[0]);
    if (!via.op) return NULL;
    via.variant = get_str("call", "variant", args[1]);
    if (!via.variant) return NULL;
    const char *us = strrchr(via.op, '_');
    int op = OP_COUNT;
    via.dtype = DT_NONE;
    if (us) {
        for (int d = 0; d < 3; d++)
            if (strcmp(us + 1, dt_suffix[d]) == 0) via.dtype = (ktpy_dtype)d;
        for (int i = 0; i < OP_COUNT; i++)
            if (strlen(op_base[i]) == (size_t)(us - via.op) &&
                strncmp(via.op, op_base[i], (size_t)(us - via.op)) == 0)
                op = i;
    }
    if (op == OP_COUNT || via.dtype == DT_NONE || !op_known(via.op)) {
        if (op_known(via.op))
            PyErr_Format(PyExc_ValueError, "call(): %s has no Python binding", via.op);
        else
            unknown_op("call", via.op);
        return NULL;
    }
    args += 2;
    nargs -= 2;
    switch (op) {
    case OP_ADD_SCALAR:
        return do_add_scalar(args, nargs, kwnames, &via);
    case OP_AXPY:
    case OP_DOT:
        return do_axpy_dot((ktpy_op)op, args, nargs, kwnames, &via);
    case OP_GEMV:
        return do_gemv(args, nargs, kwnames, &via);
    default:
        return do_gemm(args, nargs, kwnames, &via);
    }
}

/* Sets d[key] = v (stealing v); returns -1 on failure. */
static int dict_set(PyObject *d, const char *key, PyObject *v) {
    if (!v) return -1;
    int r = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return r;
}

static PyObject *py_info(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    kt_status s = kt_init();
    const char *why = s == KT_OK ? "" : kt_last_error();
    PyObject *d = PyDict_New(), *ops = NULL;
    if (!d) return NULL;
    if (dict_set(d, "version", PyUnicode_FromString(kt_version())) != 0 ||
        dict_set(d, "fingerprint", PyUnicode_FromString(kt_fingerprint())) != 0 ||
        dict_set(d, "status", PyUnicode_FromString(kt_strerror(kt_init_status()))) != 0 ||
        dict_set(d, "status_detail", PyUnicode_FromString(why ? why : "")) != 0)
        goto fail;
    if (!(ops = PyList_New(0))) goto fail;
    for (size_t i = 0; i < kt_op_count(); i++) {
        PyObject *n = PyUnicode_FromString(kt_op_name(i));
        if (!n || PyList_Append(ops, n) != 0) {
            Py_XDECREF(n);
            goto fail;
        }
        Py_DECREF(n);
    }
    if (dict_set(d, "ops", ops) != 0) {
        ops = NULL;
        goto fail;
    }
    if (dict_set(d, "gil_released_from",
                 Py_BuildValue("{s:i,s:i}", "elements", KTPY_NOGIL_VEC, "multiply_adds",
                               KTPY_NOGIL_MAT)) != 0)
        goto fail2;
    return d;
fail:
    Py_XDECREF(ops);
fail2:
    Py_DECREF(d);
    return NULL;
}

static PyObject *variant_dict(const kt_variant_info *v) {
    return Py_BuildValue("{s:s,s:s,s:I,s:i,s:O,s:O,s:O,s:s}", "name", v->name, "backend",
                         v->backend, "version", v->version, "threads", v->threads, "gpu",
                         v->gpu ? Py_True : Py_False, "unit_stride",
                         v->unit_stride ? Py_True : Py_False, "available",
                         v->available ? Py_True : Py_False, "reason", v->reason ? v->reason : "");
}

static PyObject *py_variants(PyObject *self, PyObject *arg) {
    (void)self;
    const char *op = get_str("variants", "op", arg);
    if (!op) return NULL;
    if (!op_known(op)) return unknown_op("variants", op);
    size_t n = kt_variant_count(op);
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (!l) return NULL;
    for (size_t i = 0; i < n; i++) {
        kt_variant_info vi;
        kt_status s = kt_variant_get(op, i, &vi);
        PyObject *d = s == KT_OK ? variant_dict(&vi) : raise_status(s);
        if (!d) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, d);
    }
    return l;
}

static PyObject *py_explain(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs < 2 || nargs > 4) {
        PyErr_SetString(PyExc_TypeError, "explain() takes an operation and its dimensions: "
                                         "explain(op, n), explain('gemv_f32', m, n), "
                                         "explain('gemm_f64', m, n, k)");
        return NULL;
    }
    const char *op = get_str("explain", "op", args[0]);
    if (!op) return NULL;
    if (!op_known(op)) return unknown_op("explain", op);
    Py_ssize_t want = strncmp(op, "gemm_", 5) == 0 ? 3 : strncmp(op, "gemv_", 5) == 0 ? 2 : 1;
    if ((strncmp(op, "gemm_", 5) == 0 || strncmp(op, "gemv_", 5) == 0 ||
         strncmp(op, "axpy_", 5) == 0 || strncmp(op, "dot_", 4) == 0 ||
         strncmp(op, "add_scalar_", 11) == 0) &&
        nargs - 1 != want) {
        PyErr_Format(PyExc_TypeError, "explain(): %s takes %zd dimension%s (%s), not %zd", op, want,
                     want > 1 ? "s" : "",
                     want == 3   ? "m, n, k"
                     : want == 2 ? "m, n"
                                 : "n",
                     nargs - 1);
        return NULL;
    }
    size_t dims[3] = {0, 0, 0};
    for (Py_ssize_t i = 1; i < nargs; i++) {
        PyObject *ix = PyNumber_Index(args[i]);
        if (!ix) return NULL;
        Py_ssize_t v = PyLong_AsSsize_t(ix);
        Py_DECREF(ix);
        if (v == -1 && PyErr_Occurred()) return NULL;
        if (v < 0) {
            PyErr_SetString(PyExc_ValueError, "explain(): dimensions must not be negative");
            return NULL;
        }
        dims[i - 1] = (size_t)v;
    }
    kt_dispatch_info di;
    kt_status s = kt_dispatch_explain(op, dims, &di);
    if (s != KT_OK) return raise_status(s);
    return Py_BuildValue("{s:s,s:s,s:(nnn),s:s}", "variant", di.variant, "source", di.source,
                         "matched", (Py_ssize_t)di.matched[0], (Py_ssize_t)di.matched[1],
                         (Py_ssize_t)di.matched[2], "why", di.why);
}

static PyObject *py_force(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "force() takes an operation and a variant (or None)");
        return NULL;
    }
    const char *op = get_str("force", "op", args[0]);
    if (!op) return NULL;
    const char *variant = NULL;
    if (nargs == 2 && args[1] != Py_None && !(variant = get_str("force", "variant", args[1])))
        return NULL;
    if (!op_known(op)) return unknown_op("force", op);
    kt_status s = kt_force(op, variant);
    if (s != KT_OK) return raise_status(s);
    Py_RETURN_NONE;
}

static PyObject *py_reload(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    kt_status s;
    Py_BEGIN_ALLOW_THREADS s = kt_reload();
    Py_END_ALLOW_THREADS if (s == KT_OK) return PyUnicode_FromString("ok");
    const char *msg = kt_last_error();
    return PyUnicode_FromFormat("%s: %s", kt_strerror(s), msg ? msg : "");
}

static PyObject *py_set_max_threads(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "set_max_threads(): n must be an int, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 0 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "set_max_threads(): n must be >= 0 (0: no cap)");
        return NULL;
    }
    kt_status s = kt_set_max_threads((int)n);
    if (s != KT_OK) return raise_status(s);
    Py_RETURN_NONE;
}

/* ---- docstrings ---------------------------------------------------------------------- */

PyDoc_STRVAR(
    doc_module,
    "The tuned, dispatched kernels of libktune (C, SIMD, threads, BLAS, GPU) on numpy arrays.\n"
    "\n"
    "Each call runs the variant (scalar C, AVX2, AVX-512, OpenMP threads, OpenBLAS,\n"
    "CUDA, cuBLAS) that `ktune tune` measured fastest on this machine for the call's\n"
    "size, or the library's safe defaults before any tuning.\n"
    "\n"
    "Arrays are any objects with the buffer protocol (numpy arrays, array.array,\n"
    "memoryview) of float32 or float64 (and int64 for add_scalar); all arrays of one\n"
    "call have the same type.  Vectors may have any stride (negative strides walk\n"
    "backwards, as in BLAS); matrices may be C-ordered, Fortran-ordered or slices of\n"
    "either (rows or columns contiguous).  Nothing is copied: a layout the C API cannot\n"
    "address raises ValueError unless the call passes copy=True, which works on a\n"
    "contiguous copy and writes the output back.\n"
    "\n"
    "Errors: TypeError for a wrong or mixed element type; ValueError for a shape\n"
    "mismatch, a read-only output, overlapping input and output, or an unaddressable\n"
    "layout; ktune.Error (a RuntimeError) when a variant cannot run here or the\n"
    "library fails otherwise.  On error nothing has been written.\n"
    "\n"
    "The GIL is released during calls of at least 32768 elements (65536 multiply-adds\n"
    "for gemv and gemm), so threads calling ktune run in parallel.\n"
    "\n"
    "Import ktune before numpy: the machine fingerprint the tuned choices are keyed by\n"
    "includes the OpenBLAS build in the process, and numpy imported first brings its own\n"
    "(info()['fingerprint'] against `ktune info` shows it).\n"
    "\n"
    "Operations: add_scalar, axpy, dot, gemv, gemm.\n"
    "Introspection: info, variants, explain, force, call, reload, set_max_threads.\n"
    "Environment (read once): KTUNE_DB, KTUNE_FORCE, KTUNE_DISABLE, KTUNE_MAX_ISA,\n"
    "KTUNE_NUM_THREADS, KTUNE_LOG; see `man ktune`.");

PyDoc_STRVAR(doc_add_scalar,
             "add_scalar($module, /, a, c, copy=False)\n--\n\n"
             "a[...] += c, in place, on an array of any shape; returns a.\n"
             "\n"
             "a is float32, float64 or int64; c is a real number (an integer for int64,\n"
             "which wraps on overflow as the C types do).  Contiguous arrays in any order are\n"
             "one call; slices whose innermost (C or Fortran order) dimension is contiguous\n"
             "are one call per contiguous run.  Other layouts raise ValueError unless\n"
             "copy=True.");

PyDoc_STRVAR(doc_axpy,
             "axpy($module, /, alpha, x, y, copy=False)\n--\n\n"
             "y += alpha * x for 1-d x and y of the same length and type; returns y.\n"
             "\n"
             "Strides map to BLAS increments (negative ones included).  x and y must not\n"
             "overlap unless they are the same view.");

PyDoc_STRVAR(doc_dot,
             "dot($module, /, x, y, copy=False)\n--\n\n"
             "The dot product sum(x[i] * y[i]) of 1-d x and y of the same length and type,\n"
             "as a Python float (0.0 for empty vectors).");

PyDoc_STRVAR(doc_gemv,
             "gemv($module, /, A, x, y=None, alpha=1.0, beta=0.0, trans=False, copy=False)\n--\n\n"
             "y = alpha * op(A) @ x + beta * y; returns y.\n"
             "\n"
             "op(A) is A, or A.T with trans=True.  A is 2-d, C- or Fortran-ordered (or a\n"
             "slice with contiguous rows or columns); x and y are 1-d with any non-zero\n"
             "stride.  y=None returns a new numpy array (beta must then be 0); beta = 0\n"
             "never reads y.");

PyDoc_STRVAR(doc_gemm,
             "gemm($module, /, A, B, C=None, alpha=1.0, beta=0.0, transa=False, transb=False,"
             " copy=False)\n--\n\n"
             "C = alpha * op(A) @ op(B) + beta * C; returns C.\n"
             "\n"
             "op(X) is X, or X.T with the trans flag.  Each of A, B, C may be C- or\n"
             "Fortran-ordered, or a slice with contiguous rows or columns, independently:\n"
             "an operand stored the other way than C is passed as its transpose, never\n"
             "copied.  C=None returns a new C-ordered numpy array (beta must then be 0);\n"
             "beta = 0 never reads C.  C must not overlap A or B.");

PyDoc_STRVAR(doc_call,
             "call(op, variant, *args, **kwargs)\n--\n\n"
             "Calls one named variant of op directly, bypassing dispatch, with the arguments\n"
             "of the matching function: call('axpy_f32', 'avx2', 2.0, x, y).  The arrays must\n"
             "have op's type.  Raises ValueError for an unknown op or variant and ktune.Error\n"
             "when the variant cannot run here or cannot take these arguments (a non-unit\n"
             "stride for a unit-stride variant).  Returns what the function returns.");

PyDoc_STRVAR(doc_info,
             "info($module, /)\n--\n\n"
             "A dict describing the library: version, machine fingerprint, status of the\n"
             "dispatch tables (status, status_detail: why the built-in defaults are used, e.g.\n"
             "no tuning database), the operations (ops), and the sizes from which calls\n"
             "release the GIL.");

PyDoc_STRVAR(doc_variants,
             "variants($module, op, /)\n--\n\n"
             "The variants of operation op ('axpy_f32', ...) as a list of dicts: name,\n"
             "backend, version, threads, gpu, unit_stride, available, and reason (why it\n"
             "cannot run here, '' when it can).");

PyDoc_STRVAR(doc_explain,
             "explain(op, *dims)\n--\n\n"
             "How a call of op at these dimensions dispatches now: a dict with variant,\n"
             "source ('tuned', 'default', 'forced', 'fallback'), matched (the tuned\n"
             "dimensions it was matched to) and why (one line).  Dimensions: n for vector\n"
             "ops, m, n for gemv, m, n, k for gemm.");

PyDoc_STRVAR(doc_force,
             "force($module, op, variant=None, /)\n--\n\n"
             "Makes op dispatch to variant from now on, in the whole process (as\n"
             "KTUNE_FORCE does); variant=None returns op to the tuned choice.  Raises\n"
             "ValueError for an unknown op or variant, ktune.Error if it cannot run here.");

PyDoc_STRVAR(doc_reload,
             "reload($module, /)\n--\n\n"
             "Rebuilds the dispatch tables from the tuning database (after `ktune tune`);\n"
             "calls in flight in other threads finish undisturbed.  Returns 'ok', or why the\n"
             "built-in defaults are in use (the library works either way).");

PyDoc_STRVAR(doc_set_max_threads, "set_max_threads($module, n, /)\n--\n\n"
                                  "Caps the threads any variant may use (0 removes the cap), as\n"
                                  "KTUNE_NUM_THREADS does; rebuilds the dispatch tables.");

#define KTPY_FAST (METH_FASTCALL | METH_KEYWORDS)
static PyMethodDef ktpy_methods[] = {
    {"add_scalar", (PyCFunction)(void (*)(void))py_add_scalar, KTPY_FAST, doc_add_scalar},
    {"axpy", (PyCFunction)(void (*)(void))py_axpy, KTPY_FAST, doc_axpy},
    {"dot", (PyCFunction)(void (*)(void))py_dot, KTPY_FAST, doc_dot},
    {"gemv", (PyCFunction)(void (*)(void))py_gemv, KTPY_FAST, doc_gemv},
    {"gemm", (PyCFunction)(void (*)(void))py_gemm, KTPY_FAST, doc_gemm},
    {"call", (PyCFunction)(void (*)(void))py_call, KTPY_FAST, doc_call},
    {"info", py_info, METH_NOARGS, doc_info},
    {"variants", py_variants, METH_O, doc_variants},
    {"explain", (PyCFunction)(void (*)(void))py_explain, METH_FASTCALL, doc_explain},
    {"force", (PyCFunction)(void (*)(void))py_force, METH_FASTCALL, doc_force},
    {"reload", py_reload, METH_NOARGS, doc_reload},
    {"set_max_threads", py_set_max_threads, METH_O, doc_set_max_threads},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ktpy_module = {
    PyModuleDef_HEAD_INIT, "ktune", doc_module, -1, ktpy_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_ktune(void);
PyMODINIT_FUNC PyInit_ktune(void) {
    PyObject *m = PyModule_Create(&ktpy_module);
    if (!m) return NULL;
    ktpy_error = PyErr_NewExceptionWithDoc(
        "ktune.Error",
        "A library failure that is not a bad argument: the variant cannot run here, a CUDA "
        "or database error, or a bug in ktune.",
        PyExc_RuntimeError, NULL);
    if (!ktpy_error || PyModule_AddObjectRef(m, "Error", ktpy_error) != 0 ||
        PyModule_AddStringConstant(m, "__version__", kt_version()) != 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
