"""Tests for mlp_utils.timing: argument checks, arithmetic, and quick real measurements."""
from __future__ import annotations

import math

import pytest
import torch

from mlp_utils.timing import (
    MatmulResult,
    MemoryInfo,
    Timing,
    describe_memory,
    gb_per_s,
    gflop_per_s,
    matmul_bytes,
    matmul_flops,
    measure_matmul,
    stream_bandwidth,
    time_fn,
    time_matmul,
    time_train_step,
)


def test_matmul_flops_and_bytes_known_cases() -> None:
    assert matmul_flops(1024) == 2 * 1024**3
    assert matmul_flops(2, 3, 4) == 2 * 2 * 3 * 4
    # A (n x k) = 2x4, B (k x m) = 4x3, C (n x m) = 2x3: 8 + 12 + 6 elements.
    assert matmul_bytes(2, 3, 4, itemsize=4) == (8 + 12 + 6) * 4
    assert matmul_bytes(10) == 3 * 100 * 4
    assert matmul_bytes(10, itemsize=2) == 3 * 100 * 2


def test_rates() -> None:
    assert gflop_per_s(matmul_flops(1000), 2.0) == pytest.approx(1.0)
    assert gflop_per_s(2 * 1024**3, 1.0) == pytest.approx(2.147483648)
    assert gb_per_s(3e9, 1.5) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        gflop_per_s(1.0, 0.0)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_sizes_are_validated(bad: object) -> None:
    with pytest.raises(ValueError):
        matmul_flops(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        time_matmul(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        matmul_bytes(4, bad)  # type: ignore[arg-type]


def test_time_fn_returns_positive_median() -> None:
    x = torch.randn(64, 64)
    timing = time_fn(lambda: x @ x, min_run_time=0.02, device="cpu", label="64x64")
    assert isinstance(timing, Timing)
    assert timing.median > 0 and timing.iqr >= 0
    assert timing.blocks >= 5 and timing.runs >= timing.blocks
    assert timing.device == "cpu" and timing.label == "64x64"
    assert timing.ms == pytest.approx(timing.median * 1e3)
    assert "64x64" in str(timing)


def test_time_fn_restores_threads_and_validates() -> None:
    before = torch.get_num_threads()
    time_fn(lambda: None, min_run_time=0.01, num_threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        time_fn(42, min_run_time=0.01)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        time_fn(lambda: None, min_run_time=0)


def test_time_train_step_runs_warmup_and_steps() -> None:
    calls = []
    timing = time_train_step(lambda: calls.append(1), warmup=3, min_run_time=0.01)
    assert timing.median > 0
    assert len(calls) >= 3 + timing.runs
    with pytest.raises(ValueError):
        time_train_step(lambda: None, warmup=-1)


def test_measure_matmul_small_product() -> None:
    result = measure_matmul(32, 16, 8, device="cpu", min_run_time=0.02)
    assert isinstance(result, MatmulResult)
    assert (result.n, result.m, result.k, result.dtype) == (32, 16, 8, "float32")
    assert result.seconds > 0
    assert result.gflop_per_s == pytest.approx(matmul_flops(32, 16, 8) / result.seconds / 1e9)
    assert result.gb_per_s == pytest.approx(matmul_bytes(32, 16, 8) / result.seconds / 1e9)
    assert time_matmul(16, device="cpu", min_run_time=0.01) > 0


def test_describe_memory_on_cpu() -> None:
    info = describe_memory("cpu")
    assert isinstance(info, MemoryInfo)
    fields = info.as_dict()
    assert set(fields) == {"device", "name", "total_bytes", "bus_width_bits", "memory_clock_hz",
                           "theoretical_gb_per_s", "caches", "cache_line_bytes", "simd",
                           "virtual_machine", "notes"}
    assert fields["device"] == "cpu" and isinstance(fields["name"], str) and fields["name"]
    assert fields["total_bytes"] is None or fields["total_bytes"] > 0
    assert all(isinstance(size, int) and size > 0 for size in fields["caches"].values())
    # Either the bus width was found, or a note says why not.
    assert fields["bus_width_bits"] is not None or fields["notes"]
    if fields["bus_width_bits"] is not None and fields["memory_clock_hz"] is not None:
        expected = 2 * fields["memory_clock_hz"] * fields["bus_width_bits"] / 8 / 1e9
        assert math.isclose(fields["theoretical_gb_per_s"], expected)
    text = str(info)
    assert "memory bus width" in text and "cpu" in text


def test_stream_bandwidth_small_arrays() -> None:
    for kind in ("copy", "add", "sum"):
        assert stream_bandwidth("cpu", kind=kind, num_bytes=2**20, min_run_time=0.01) > 0
    with pytest.raises(ValueError):
        stream_bandwidth("cpu", kind="triad")
