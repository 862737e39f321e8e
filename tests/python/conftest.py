"""pytest set-up for the ktune module tests (tests/python.sh runs them for make check).

KT_TAP=PATH writes a TAP report there, one line per test (the shell test prints it for
Automake's TAP driver); KT_TEST_SEED fixes the random inputs (the seed used is printed);
KT_TEST_QUICK=1 shrinks the leak test (valgrind).
"""
import os
import time
import zlib

import numpy as np
import pytest

SEED = int(os.environ.get("KT_TEST_SEED") or time.time_ns() % 2**32)
QUICK = os.environ.get("KT_TEST_QUICK", "") not in ("", "0")

_tap = None
_count = 0


def pytest_configure(config):
    global _tap
    path = os.environ.get("KT_TAP")
    if path:
        _tap = open(path, "w", buffering=1)
        _tap.write(f"# random seed {SEED} (KT_TEST_SEED={SEED} repeats this run)\n")


def _tap_line(report):
    global _count
    _count += 1
    name = report.nodeid.split("::", 1)[-1].replace("#", "no.")
    if report.passed:
        return f"ok {_count} - {name}\n"
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        return f"ok {_count} - {name} # SKIP {reason.replace('#', 'no.')}\n"
    lines = str(report.longrepr).splitlines()[-40:]
    return f"not ok {_count} - {name} ({report.when})\n" + "".join(f"# {l}\n" for l in lines)


def pytest_runtest_logreport(report):
    if _tap is None:
        return
    # one TAP line per test: its call, or the setup/teardown that failed or skipped it
    failed_around = report.when != "call" and report.failed
    skipped_at_setup = report.when == "setup" and report.skipped
    if report.when == "call" or failed_around or skipped_at_setup:
        _tap.write(_tap_line(report))


def pytest_unconfigure(config):
    if _tap is not None:
        _tap.write(f"1..{_count}\n")
        _tap.close()


@pytest.fixture
def rng(request):
    """A generator seeded from SEED and the test's name: each test its own fresh inputs."""
    return np.random.default_rng([SEED, zlib.crc32(request.node.nodeid.encode())])


def rand(rng, shape, dtype, order="C"):
    """Random non-zero values of dtype: uniform in [-2, -0.5] U [0.5, 2] (integers in +-1e6)."""
    if np.dtype(dtype) == np.int64:
        v = rng.integers(1, 10**6, size=shape) * rng.choice([-1, 1], size=shape)
    else:
        v = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.array(v, dtype=dtype, order=order)


def tol(dtype, k=1):
    """An error bound for a sum of k products in dtype (relative to sum |terms|)."""
    eps = np.finfo(dtype).eps
    return 4 * eps * max(k, 1) + (1e-6 if np.dtype(dtype) == np.float32 else 1e-14)
