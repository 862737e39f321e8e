"""Every ktune function against numpy on random inputs: edge sizes (0, 1, odd), C- and
Fortran-ordered, sliced and negatively strided arrays, copy=True, other buffer objects,
every variant through ktune.call, introspection, and threads calling concurrently."""
import array
import inspect
import pydoc
import threading

import numpy as np
import pytest

import ktune
from conftest import rand, tol

FLOATS = [np.float32, np.float64]
SIZES = [0, 1, 2, 7, 33, 1001, 32771]  # 32771: above the size that releases the GIL


def close(got, want, dtype, k=1, scale=None):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if scale is None:
        scale = np.abs(want) + 1.0
    assert np.all(np.abs(got - want) <= tol(dtype, k) * scale * 8), (got, want)


# ---- add_scalar ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("n", SIZES + [100003])
def test_add_scalar_vector(rng, dtype, n):
    a = rand(rng, n, dtype)
    want = a.copy()
    c = 3 if dtype == np.int64 else 1.25
    want += c
    assert ktune.add_scalar(a, c) is a
    if dtype == np.int64:
        assert np.array_equal(a, want)
    else:
        close(a, want, dtype)


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "rows", "cols", "reversed", "0-d", "3-d sliced"])
def test_add_scalar_layouts(rng, dtype, layout):
    base = rand(rng, (9, 13, 5) if layout == "3-d sliced" else (37, 11), dtype)
    if layout == "F":
        base = np.asfortranarray(base)
    ref = base.copy(order="K")
    view = {"C": lambda b: b, "F": lambda b: b, "rows": lambda b: b[:, 2:9],
            "cols": lambda b: np.asfortranarray(b)[3:30, :],
            "reversed": lambda b: b[::-1, 2:], "0-d": lambda b: b[3, 4, ...],
            "3-d sliced": lambda b: b[1:8:2, ::-1, 1:4]}[layout]
    if layout == "cols":
        base = np.asfortranarray(base)
        ref = base.copy(order="K")
    v = view(base)
    ktune.add_scalar(v, 7)
    view(ref)[...] += 7
    assert np.array_equal(base, ref)  # the view changed, nothing around it


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
def test_add_scalar_copy(rng, dtype):
    base = rand(rng, 101, dtype)
    ref = base.copy(order="K")
    with pytest.raises(ValueError, match="copy=True"):
        ktune.add_scalar(base[::3], 2)
    assert np.array_equal(base, ref)
    ktune.add_scalar(base[::3], 2, copy=True)
    ref[::3] += 2
    assert np.array_equal(base, ref)


def test_add_scalar_int64_wraps_and_scalars():
    a = np.array([2**63 - 1, -5], dtype=np.int64)
    ktune.add_scalar(a, 1)
    assert a[0] == -2**63 and a[1] == -4
    ktune.add_scalar(a, np.int64(4))
    assert a[1] == 0
    f = np.ones(3)
    ktune.add_scalar(f, np.float32(0.5))
    ktune.add_scalar(f, 2)
    assert np.array_equal(f, [3.5, 3.5, 3.5])


def test_other_buffer_objects(rng):
    a = array.array("d", [1.0, 2.0, 3.0])
    ktune.add_scalar(a, 1.5)
    assert list(a) == [2.5, 3.5, 4.5]
    x = array.array("f", [1.0, -2.0, 4.0])
    y = array.array("f", [0.5, 0.25, 1.0])
    ktune.axpy(2.0, memoryview(x), y)
    assert list(y) == [2.5, -3.75, 9.0]
    assert ktune.dot(x, y) == pytest.approx(2.5 + 7.5 + 36.0)
    m = memoryview(bytearray(np.arange(6, dtype=np.float64).tobytes())).cast("d", (2, 3))
    v = np.ones(3)
    assert np.array_equal(ktune.gemv(m, v), [3.0, 12.0])


# ---- axpy, dot -----------------------------------------------------------------------------

STRIDES = [(1, 1), (2, 1), (1, -1), (-3, 2), (0, 1)]


def strided(rng, n, stride, dtype):
    """A length-n vector with the given element stride (0: a broadcast read-only view)."""
    if stride == 0:
        return np.broadcast_to(rand(rng, 1, dtype), (n,))
    base = rand(rng, max(n, 1) * abs(stride) + 3, dtype)
    v = base[1:1 + n * abs(stride):abs(stride)]
    return v[::-1] if stride < 0 else v


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("sx,sy", STRIDES)
def test_axpy(rng, dtype, n, sx, sy):
    x = strided(rng, n, sx, dtype)
    y = strided(rng, n, sy, dtype)
    alpha = float(rng.uniform(0.5, 2))
    want = y.astype(np.float64) + alpha * x.astype(np.float64)
    assert ktune.axpy(alpha, x, y) is y
    close(y, want, dtype, 2)


@pytest.mark.parametrize("dtype", FLOATS)
def test_axpy_same_view(rng, dtype):
    y = rand(rng, 77, dtype)
    want = y * 3
    ktune.axpy(2.0, y, y)
    close(y, want, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", SIZES + [100003])
@pytest.mark.parametrize("sx,sy", STRIDES + [(0, 0)])
def test_dot(rng, dtype, n, sx, sy):
    x = strided(rng, n, sx, dtype)
    y = strided(rng, n, sy, dtype)
    got = ktune.dot(x, y)
    assert isinstance(got, float)
    terms = x.astype(np.float64) * y.astype(np.float64)
    close(got, terms.sum(), dtype, n, scale=np.abs(terms).sum() + 1)


# ---- gemv ----------------------------------------------------------------------------------

def matrix(rng, shape, dtype, how):
    """A matrix of shape in one of the layouts the C API takes."""
    m, n = shape
    if how == "C":
        return rand(rng, shape, dtype)
    if how == "F":
        return rand(rng, shape, dtype, order="F")
    if how == "C-ld":  # rows of a wider matrix: row-major, lda > n
        return rand(rng, (m, n + 5), dtype)[:, 2:2 + n]
    if how == "F-ld":  # columns of a taller matrix: column-major, lda > m
        return rand(rng, (m + 3, n), dtype, order="F")[1:1 + m, :]
    if how == "C-rowstep":  # every other row
        return rand(rng, (2 * m, n), dtype)[::2]
    raise AssertionError(how)


LAYOUTS = ["C", "F", "C-ld", "F-ld", "C-rowstep"]
GEMV_SHAPES = [(0, 3), (3, 0), (1, 1), (5, 7), (33, 17), (130, 70)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", GEMV_SHAPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("trans", [False, True])
def test_gemv(rng, dtype, shape, layout, trans):
    A = matrix(rng, shape, dtype, layout)
    op = A.T if trans else A
    x = strided(rng, op.shape[1], -2, dtype)
    y = strided(rng, op.shape[0], 3, dtype)
    alpha, beta = 1.5, -0.75
    want = alpha * (op.astype(np.float64) @ x.astype(np.float64)) + beta * y.astype(np.float64)
    assert ktune.gemv(A, x, y, alpha=alpha, beta=beta, trans=trans) is y
    close(y, want, dtype, shape[0] + shape[1] + 2)
    fresh = ktune.gemv(A, x, trans=trans)
    assert isinstance(fresh, np.ndarray) and fresh.dtype == dtype and fresh.shape == (op.shape[0],)
    close(fresh, op.astype(np.float64) @ x.astype(np.float64), dtype, shape[0] + shape[1])


def test_gemv_beta0_ignores_nan(rng):
    A = rand(rng, (4, 3), np.float64)
    x = rand(rng, 3, np.float64)
    y = np.full(4, np.nan)
    ktune.gemv(A, x, y)
    close(y, A @ x, np.float64, 3)


# ---- gemm ----------------------------------------------------------------------------------

GEMM_SHAPES = [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (7, 5, 3), (33, 17, 9), (64, 64, 64),
               (100, 37, 129)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mnk", GEMM_SHAPES)
@pytest.mark.parametrize("la,lb,lc", [("C", "C", "C"), ("F", "F", "F"), ("F", "C", "C"),
                                      ("C", "F", "F"), ("C-ld", "F-ld", "C"),
                                      ("F-ld", "C-ld", "F-ld"),
                                      ("C-rowstep", "F", "C-ld")])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm(rng, dtype, mnk, la, lb, lc, ta, tb):
    m, n, k = mnk
    A = matrix(rng, (k, m) if ta else (m, k), dtype, la)
    B = matrix(rng, (n, k) if tb else (k, n), dtype, lb)
    C = matrix(rng, (m, n), dtype, lc)
    opA = (A.T if ta else A).astype(np.float64)
    opB = (B.T if tb else B).astype(np.float64)
    alpha, beta = -1.25, 0.5
    want = alpha * (opA @ opB) + beta * C.astype(np.float64)
    assert ktune.gemm(A, B, C, alpha=alpha, beta=beta, transa=ta, transb=tb) is C
    close(C, want, dtype, k + 2, scale=np.abs(opA) @ np.abs(opB) + np.abs(want) + 1)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gemm_new_output_and_copy(rng, dtype):
    A = rand(rng, (40, 30), dtype)[::2, ::3]  # neither rows nor columns contiguous
    B = rand(rng, (10, 9), dtype)
    Cbase = rand(rng, (40, 18), dtype)
    C = Cbase[::2, ::2]
    with pytest.raises(ValueError, match="copy=True"):
        ktune.gemm(A, B)
    want = A.astype(np.float64) @ B.astype(np.float64)
    got = ktune.gemm(A, B, copy=True)
    assert got.shape == (20, 9) and got.dtype == dtype and got.flags.c_contiguous
    close(got, want, dtype, 12, scale=np.abs(A) @ np.abs(B) + 1)
    before = Cbase.copy()
    ktune.gemm(A, B, C, alpha=2.0, beta=1.0, copy=True)
    close(C, 2 * want + before[::2, ::2], dtype, 12, scale=np.abs(A) @ np.abs(B) * 2 + 3)
    untouched = np.ones(Cbase.shape, bool)
    untouched[::2, ::2] = False
    assert np.array_equal(Cbase[untouched], before[untouched])


def test_gemv_copy(rng):
    A = rand(rng, (30, 40), np.float64)[::3, ::2]
    x = rand(rng, 20, np.float64)
    with pytest.raises(ValueError, match="copy=True"):
        ktune.gemv(A, x)
    close(ktune.gemv(A, x, copy=True), A @ x, np.float64, 20)


# ---- named variants (ktune.call) -------------------------------------------------------------

def cpu_variants(op):
    return [v["name"] for v in ktune.variants(op) if v["available"] and not v["gpu"]]


@pytest.mark.parametrize("dt", ["f32", "f64"])
def test_call_every_variant(rng, dt):
    dtype = np.float32 if dt == "f32" else np.float64
    n = 1003
    for v in cpu_variants(f"axpy_{dt}"):
        x, y = rand(rng, n, dtype), rand(rng, n, dtype)
        want = y.astype(np.float64) + 0.5 * x
        ktune.call(f"axpy_{dt}", v, 0.5, x, y)
        close(y, want, dtype, 2)
    for v in cpu_variants(f"dot_{dt}"):
        x, y = rand(rng, n, dtype), rand(rng, n, dtype)
        t = x.astype(np.float64) * y
        close(ktune.call(f"dot_{dt}", v, x, y), t.sum(), dtype, n, scale=np.abs(t).sum())
    for v in cpu_variants(f"add_scalar_{dt}"):
        a = rand(rng, n, dtype)
        want = a + dtype(2)
        ktune.call(f"add_scalar_{dt}", v, a, 2.0)
        close(a, want, dtype)
    for v in cpu_variants(f"gemv_{dt}"):
        A, x = rand(rng, (37, 21), dtype, order="F"), rand(rng, 37, dtype)
        close(ktune.call(f"gemv_{dt}", v, A, x, trans=True), A.T.astype(np.float64) @ x, dtype, 40)
    for v in cpu_variants(f"gemm_{dt}"):
        A, B = rand(rng, (33, 19), dtype), rand(rng, (19, 45), dtype, order="F")
        got = ktune.call(f"gemm_{dt}", v, A, B)
        close(got, A.astype(np.float64) @ B, dtype, 19, scale=np.abs(A) @ np.abs(B))


def test_call_int64_add_scalar(rng):
    for v in cpu_variants("add_scalar_i64"):
        a = rand(rng, 501, np.int64)
        want = a + 9
        ktune.call("add_scalar_i64", v, a, 9)
        assert np.array_equal(a, want)


# ---- introspection -----------------------------------------------------------------------------

def test_info():
    i = ktune.info()
    assert i["version"] == ktune.__version__
    assert set(["add_scalar_i64", "axpy_f32", "dot_f64", "gemv_f32", "gemm_f64"]) <= set(i["ops"])
    assert i["fingerprint"] and isinstance(i["status"], str)


def test_variants_and_explain():
    vs = ktune.variants("gemm_f64")
    names = [v["name"] for v in vs]
    assert "scalar" in names
    assert all(set(v) == {"name", "backend", "version", "threads", "gpu", "unit_stride",
                          "available", "reason"} for v in vs)
    assert all(v["available"] or v["reason"] for v in vs)
    e = ktune.explain("gemm_f64", 100, 90, 80)
    assert e["variant"] in names and e["source"] in ("tuned", "default", "forced", "fallback")
    assert e["why"]
    axpy_names = [v["name"] for v in ktune.variants("axpy_f32")]
    assert ktune.explain("axpy_f32", 1000)["variant"] in axpy_names


def test_force_and_back(rng):
    try:
        ktune.force("axpy_f64", "scalar")
        e = ktune.explain("axpy_f64", 5000)
        assert e["variant"] == "scalar" and e["source"] == "forced"
        x, y = rand(rng, 5000, np.float64), rand(rng, 5000, np.float64)
        want = y + 2 * x
        ktune.axpy(2.0, x, y)
        close(y, want, np.float64, 2)
    finally:
        ktune.force("axpy_f64", None)
    assert ktune.explain("axpy_f64", 5000)["source"] != "forced"


def test_reload():
    assert isinstance(ktune.reload(), str)


def test_set_max_threads():
    """A cap of 1 leaves no threaded variant to dispatch to; 0 removes the cap."""
    try:
        ktune.set_max_threads(1)
        for n in (10**6, 10**8):
            v = ktune.explain("add_scalar_i64", n)["variant"]
            assert not v.startswith("threads"), v
        a = np.zeros(10**6, dtype=np.int64)
        ktune.add_scalar(a, 3)
        assert int(a.sum()) == 3 * 10**6
    finally:
        ktune.set_max_threads(0)


def test_docs():
    text = pydoc.render_doc(ktune, renderer=pydoc.plaintext)
    for name in ["add_scalar", "axpy", "dot", "gemv", "gemm", "info", "variants", "explain",
                 "force", "call", "reload", "copy=True", "ValueError", "TypeError"]:
        assert name in text
    for f in [ktune.add_scalar, ktune.axpy, ktune.dot, ktune.gemv, ktune.gemm, ktune.info,
              ktune.variants, ktune.force, ktune.reload, ktune.set_max_threads]:
        assert f.__doc__ and len(f.__doc__) > 40
        inspect.signature(f)  # a signature that inspect reads
    assert list(inspect.signature(ktune.gemm).parameters) == [
        "A", "B", "C", "alpha", "beta", "transa", "transb", "copy"]


# ---- threads ---------------------------------------------------------------------------------

def test_threads_concurrently(rng):
    """Threads calling every op at sizes that release the GIL, and one rebuilding the tables:
    each result matches numpy computed beforehand."""
    nthreads, rounds = 4, 6
    jobs = []
    for t in range(nthreads):
        dtype = FLOATS[t % 2]
        A, B = rand(rng, (96, 80), dtype), rand(rng, (80, 72), dtype, order="F")
        x, y = rand(rng, 50000, dtype), rand(rng, 50000, dtype)
        v = rand(rng, 80, dtype)
        jobs.append((dtype, A, B, x, y, v, A.astype(np.float64) @ B, A.astype(np.float64) @ v,
                     float(x.astype(np.float64) @ y)))
    errors = []
    stop = threading.Event()

    def work(job):
        dtype, A, B, x, y, v, want_c, want_v, want_d = job
        try:
            for _ in range(rounds):
                close(ktune.gemm(A, B), want_c, dtype, 80, scale=np.abs(A) @ np.abs(B))
                close(ktune.gemv(A, v), want_v, dtype, 80, scale=np.abs(A) @ np.abs(v))
                close(ktune.dot(x, y), want_d, dtype, 50000, scale=float(np.abs(x) @ np.abs(y)))
                z = y.copy()
                ktune.axpy(1.0, x, z)
                close(z, x.astype(np.float64) + y, dtype, 2)
                w = y.copy()
                ktune.add_scalar(w, 1.0)
                close(w, y.astype(np.float64) + 1, dtype, 2)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def reloader():
        while not stop.is_set():
            ktune.reload()

    r = threading.Thread(target=reloader)
    r.start()
    ts = [threading.Thread(target=work, args=(j,)) for j in jobs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stop.set()
    r.join()
    assert not errors, errors


def test_gil_released_for_large_calls(rng):
    """Another thread runs while ktune works on a large input: with a switch interval of
    100 s the interpreter never hands the GIL over between bytecodes, so the waiting thread
    can only run inside a call that releases it (no timing: the loop ends when it has)."""
    import sys
    x, y = rand(rng, 1 << 20, np.float64), rand(rng, 1 << 20, np.float64)
    go, ran = threading.Event(), []
    t = threading.Thread(target=lambda: (go.wait(), ran.append(1)))
    t.start()
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        go.set()
        calls = 0
        while not ran and calls < 20000:
            ktune.dot(x, y)
            calls += 1
        released = bool(ran)
    finally:
        sys.setswitchinterval(old)
        t.join()
    assert released, f"no other thread ran during {calls} dot calls of 2^20 elements"
