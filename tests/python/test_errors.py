"""Every error of the ktune module: the exception type, the library's (or the module's)
message, and nothing written to the output."""
import numpy as np
import pytest

import ktune
from conftest import rand


def unchanged(arr, fn, exc, match):
    """Calls fn expecting exc(match) and checks arr is exactly as it was."""
    before = np.array(arr, copy=True)
    with pytest.raises(exc, match=match):
        fn()
    assert np.array_equal(np.asarray(arr), before, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex128, np.bool_, np.uint64,
                                   np.int8])
def test_wrong_dtype(rng, dtype):
    a = np.ones(9, dtype=dtype)
    y = rand(rng, 9, np.float64)
    unchanged(a, lambda: ktune.add_scalar(a, 1), TypeError, "element type")
    unchanged(y, lambda: ktune.axpy(1.0, a, y), TypeError, "element type")
    unchanged(y, lambda: ktune.dot(y, a), TypeError, "element type")


def test_int64_only_for_add_scalar(rng):
    x = rand(rng, 5, np.int64)
    y = rand(rng, 5, np.int64)
    unchanged(y, lambda: ktune.axpy(1.0, x, y), TypeError, "float32 or float64")
    A = rand(rng, (5, 5), np.int64)
    unchanged(y, lambda: ktune.gemv(A, x, y), TypeError, "float32 or float64")
    unchanged(A, lambda: ktune.gemm(A, A, A), TypeError, "float32 or float64")


def test_mixed_dtypes(rng):
    x32, y64 = rand(rng, 6, np.float32), rand(rng, 6, np.float64)
    unchanged(y64, lambda: ktune.axpy(1.0, x32, y64), TypeError, "mixed element types")
    A, v = rand(rng, (6, 6), np.float64), rand(rng, 6, np.float64)
    y32 = rand(rng, 6, np.float32)
    unchanged(y32, lambda: ktune.gemv(A, v, y32), TypeError, "mixed")
    C32 = rand(rng, (6, 6), np.float32)
    unchanged(C32, lambda: ktune.gemm(A, A, C32), TypeError, "mixed")
    unchanged(A, lambda: ktune.gemm(C32, A, A), TypeError, "mixed")


def test_not_a_buffer():
    with pytest.raises(TypeError, match="buffer protocol"):
        ktune.add_scalar([1.0, 2.0], 1)
    with pytest.raises(TypeError, match="buffer protocol"):
        ktune.dot(np.ones(2), None)


def test_bad_scalars(rng):
    a = rand(rng, 4, np.int64)
    unchanged(a, lambda: ktune.add_scalar(a, 1.5), TypeError, "integer")
    unchanged(a, lambda: ktune.add_scalar(a, 2**63), OverflowError, "int64")
    f = rand(rng, 4, np.float64)
    unchanged(f, lambda: ktune.add_scalar(f, "1"), TypeError, "real number")
    unchanged(f, lambda: ktune.axpy(1j, f, f), TypeError, "real number")
    unchanged(f, lambda: ktune.gemv(np.ones((4, 4)), f, f, beta=None), TypeError, "real number")


def test_argument_errors(rng):
    y = rand(rng, 3, np.float64)
    with pytest.raises(TypeError, match="missing required argument 'y'"):
        ktune.axpy(1.0, y)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        ktune.dot(y, y, z=1)
    with pytest.raises(TypeError, match="multiple values"):
        ktune.dot(y, y, x=y)
    with pytest.raises(TypeError, match="at most"):
        ktune.dot(y, y, False, 1)


def test_shape_mismatch(rng):
    x, y = rand(rng, 5, np.float64), rand(rng, 6, np.float64)
    unchanged(y, lambda: ktune.axpy(2.0, x, y), ValueError, "x has 5 elements but y has 6")
    with pytest.raises(ValueError, match="5 elements but y has 6"):
        ktune.dot(x, y)
    A = rand(rng, (6, 5), np.float64)
    unchanged(y, lambda: ktune.gemv(A, y, y), ValueError, "x needs 5 elements")
    unchanged(x, lambda: ktune.gemv(A, x, x), ValueError, "y needs 6 elements")
    unchanged(x, lambda: ktune.gemv(A, x.copy(), x, trans=True), ValueError,
              r"6 x 5 \(transposed\), so x needs 6")
    C = rand(rng, (6, 6), np.float64)
    unchanged(C, lambda: ktune.gemm(A, A, C), ValueError, "inner dimensions")
    unchanged(C, lambda: ktune.gemm(A, A.T, C.T[:5]), ValueError, "C is 5 x 6")
    unchanged(y, lambda: ktune.axpy(1.0, A, y), ValueError, "1-dimensional")
    unchanged(C, lambda: ktune.gemm(y, A, C), ValueError, "2-dimensional")


def test_read_only_output(rng):
    y = rand(rng, 8, np.float64)
    y.flags.writeable = False
    unchanged(y, lambda: ktune.add_scalar(y, 1.0), ValueError, "read-only")
    unchanged(y, lambda: ktune.axpy(1.0, y.copy(), y), ValueError, "read-only")
    b = bytes(64)
    with pytest.raises((ValueError, TypeError)):
        ktune.add_scalar(b, 1)
    ro = np.frombuffer(bytes(64), dtype=np.float64)
    unchanged(ro, lambda: ktune.add_scalar(ro, 1.0), ValueError, "read-only")
    A = rand(rng, (8, 8), np.float64)
    A.flags.writeable = False
    unchanged(A, lambda: ktune.gemm(A.copy(), A.copy(), A), ValueError, "C is read-only")
    unchanged(y, lambda: ktune.gemv(A, y.copy(), y), ValueError, "y is read-only")


def test_overlap(rng):
    base = rand(rng, 40, np.float64)
    unchanged(base, lambda: ktune.axpy(2.0, base[1:21], base[:20]), ValueError, "overlap")
    M = rand(rng, (8, 9), np.float64)
    unchanged(M, lambda: ktune.gemv(M[:, :8], M[0, :8].copy(), M[:, 8]), ValueError, "overlaps")
    big = rand(rng, (8, 16), np.float64)
    unchanged(big, lambda: ktune.gemm(big[:, :8], big[:, :8].copy(), big[:, 4:12]), ValueError,
              "overlaps")


def test_unaddressable_layouts(rng):
    a = rand(rng, 30, np.float64)
    unchanged(a, lambda: ktune.add_scalar(a[::2], 1.0), ValueError, "copy=True")
    A = rand(rng, (10, 10), np.float64)
    v = rand(rng, 5, np.float64)
    with pytest.raises(ValueError, match="neither its rows nor its columns"):
        ktune.gemv(A[::2, ::2], v)
    raw = bytearray(8 * 9)
    mis = np.frombuffer(raw, dtype=np.float64, count=8, offset=1)  # misaligned
    mis_w = np.ndarray((8,), np.float64, buffer=raw, offset=1)
    with pytest.raises(ValueError, match="misaligned"):
        ktune.dot(mis, mis)
    assert ktune.dot(mis, mis, copy=True) == 0.0
    unchanged(mis_w, lambda: ktune.add_scalar(mis_w, 1.0), ValueError, "misaligned")
    y = rand(rng, 5, np.float64)
    unchanged(y, lambda: ktune.gemv(A[:5, :5], np.broadcast_to(v[:1], (5,)), y), ValueError,
              "increment")


def test_beta_without_output(rng):
    A, x = rand(rng, (3, 3), np.float64), rand(rng, 3, np.float64)
    with pytest.raises(ValueError, match="needs y"):
        ktune.gemv(A, x, beta=1.0)
    with pytest.raises(ValueError, match="needs C"):
        ktune.gemm(A, A, beta=2.0)


def test_introspection_errors(rng):
    with pytest.raises(ValueError, match="no operation named 'axpy_f99'"):
        ktune.variants("axpy_f99")
    with pytest.raises(ValueError, match="no operation"):
        ktune.explain("nope", 3)
    with pytest.raises(TypeError, match="m, n, k"):
        ktune.explain("gemm_f32", 3, 4)
    with pytest.raises(ValueError, match="negative"):
        ktune.explain("axpy_f32", -1)
    with pytest.raises(ValueError, match="no variant 'avx9000'"):
        ktune.force("axpy_f32", "avx9000")
    with pytest.raises(ValueError, match="no operation"):
        ktune.force("axpy_f99", "scalar")
    with pytest.raises(TypeError):
        ktune.variants(3)
    with pytest.raises(ValueError, match=">= 0"):
        ktune.set_max_threads(-1)
    with pytest.raises(TypeError, match="must be an int"):
        ktune.set_max_threads(1.5)


def test_call_errors(rng):
    x, y = rand(rng, 10, np.float64), rand(rng, 10, np.float64)
    unchanged(y, lambda: ktune.call("axpy_f64", "avx9000", 1.0, x, y), ValueError, "no variant")
    unchanged(y, lambda: ktune.call("axpy_f99", "scalar", 1.0, x, y), ValueError, "no operation")
    unchanged(y, lambda: ktune.call("axpy_f32", "scalar", 1.0, x, y), TypeError,
              "axpy_f32 takes float32")
    with pytest.raises(TypeError, match="call"):
        ktune.call("axpy_f64")
    unit = [v["name"] for v in ktune.variants("axpy_f64") if v["unit_stride"] and v["available"]]
    if unit:
        z = rand(rng, 20, np.float64)
        unchanged(z, lambda: ktune.call("axpy_f64", unit[0], 1.0, x, z[::2]), ktune.Error,
                  "unit increments")
    gone = [v for v in ktune.variants("axpy_f64") if not v["available"]]
    if not gone:
        pytest.skip("every axpy_f64 variant can run here")
    unchanged(y, lambda: ktune.call("axpy_f64", gone[0]["name"], 1.0, x, y), ktune.Error,
              "cannot run here")
    with pytest.raises(ktune.Error, match="cannot run here"):
        ktune.force("axpy_f64", gone[0]["name"])
