"""Leaks: each function called a million times (10 000 under KT_TEST_QUICK), successes
and failures; the process's resident memory must not grow, and the arguments' reference
counts must come back to where they were (under valgrind only the reference counts)."""
import os
import sys

import numpy as np
import pytest

import ktune
from conftest import QUICK

CALLS = 10_000 if QUICK else 1_000_000
VALGRIND = bool(os.environ.get("KT_UNDER_VALGRIND"))
PAGE = 4096


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


x = np.linspace(1, 2, 16)
y = np.linspace(-1, 1, 16)
A = np.ones((4, 4))
v = np.ones(4)
w = np.ones(4)
ai = np.arange(16, dtype=np.int64)
x32 = x.astype(np.float32)

CASES = {
    "add_scalar": lambda: ktune.add_scalar(ai, 1),
    "add_scalar copy": lambda: ktune.add_scalar(ai[::2], 1, copy=True),
    "axpy": lambda: ktune.axpy(0.5, x, y),
    "dot": lambda: ktune.dot(x, y),
    "gemv": lambda: ktune.gemv(A, v, w, alpha=0.5, beta=0.5),
    "gemv new output": lambda: ktune.gemv(A, v),
    "gemm new output": lambda: ktune.gemm(A, A, transb=True),
    "call": lambda: ktune.call("dot_f64", "scalar", x, y),
    "explain": lambda: ktune.explain("gemm_f64", 4, 4, 4),
    "variants": lambda: ktune.variants("dot_f32"),  # 30 us a call: run 1/50 as often
}
SLOW = {"variants": 50}
ERRORS = {
    "mixed dtypes": lambda: ktune.axpy(1.0, x32, y),
    "shape mismatch": lambda: ktune.dot(x, v),
    "unaddressable": lambda: ktune.add_scalar(ai[::2], 1),
    "library error (overlap)": lambda: ktune.axpy(1.0, x[1:], x[:-1]),
    "unknown variant": lambda: ktune.call("dot_f64", "nope", x, y),
}


def run(fn, n, expect_error):
    if expect_error:
        for _ in range(n):
            try:
                fn()
            except (TypeError, ValueError):
                pass
    else:
        for _ in range(n):
            fn()


@pytest.mark.parametrize("name", list(CASES) + list(ERRORS))
def test_no_leak(name):
    fn = CASES.get(name) or ERRORS[name]
    err = name in ERRORS
    args = [x, y, A, v, w, ai, x32]
    refs = [sys.getrefcount(a) for a in args]
    calls = CALLS // SLOW.get(name, 1)
    run(fn, calls // 10, err)  # warm-up: caches, free lists, arenas
    before = rss()
    run(fn, calls, err)
    grown = rss() - before
    if VALGRIND:
        assert [sys.getrefcount(a) for a in args] == refs, f"{name}: reference counts changed"
        pytest.skip("under valgrind the resident memory is valgrind's own (translations, "
                    "shadow memory): reference counts checked, memory growth not")
    # a leak of the smallest Python object per call would be 16 MB at a million calls
    assert grown < 2 * 1024 * 1024, \
        f"{name}: resident memory grew by {grown} bytes over {calls} calls"
    assert [sys.getrefcount(a) for a in args] == refs, f"{name}: reference counts changed"
