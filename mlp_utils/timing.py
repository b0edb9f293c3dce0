"""Timing for exercises 6 and 7, built on ``torch.utils.benchmark``.

* :func:`time_train_step` times a whole training step; :func:`measure_matmul` times one matrix
  product and turns its median into GFLOP/s and GB/s with :func:`matmul_flops`,
  :func:`matmul_bytes`, :func:`gflop_per_s` and :func:`gb_per_s`; :func:`peak_gflop_per_s` is
  the highest rate of a few large products, the ceiling for a training step's GFLOP/s.
* :func:`compare_times` turns the times of two things, measured in the same rounds, into a ratio
  with its spread over the rounds, and decides by the book's one rule, Welch's t-test at 95%
  over the rounds (:func:`mlp_utils.experiments.welch`), the rule the book applies to accuracies.
* :func:`operator_times`, :func:`product_share` and :func:`top_other_operator` read a
  ``torch.profiler`` table: each operator's own time, on a CPU or a CUDA GPU, counted once.
* :func:`stream_bandwidth` measures the memory bandwidth with a large copy;
  :func:`describe_memory` adds what the device reports about its memory bus.

``Timer.blocked_autorange`` runs the statement in blocks until ``min_run_time`` seconds have
passed and reports the median and interquartile range per call; its clock waits for CUDA kernels
to finish. Timings depend on the machine and on what else it is doing: print them, never copy them.
"""
from __future__ import annotations

import logging
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Sequence

import torch

from .validate import positive_float, positive_int
from .device import pick_device
from .experiments import welch

# Importing the benchmark package imports torch.utils.cpp_extension, which warns on machines with
# a CUDA toolkit folder but no GPU; the warning concerns compiling extensions, which we never do.
_cpp_log = logging.getLogger("torch.utils.cpp_extension")
_cpp_level = _cpp_log.level
_cpp_log.setLevel(logging.ERROR)
try:
    from torch.utils import benchmark
finally:
    _cpp_log.setLevel(_cpp_level)

__all__ = ["PRODUCTS", "compare_times", "describe_memory", "matmul_bytes", "matmul_flops",
           "measure_matmul", "operator_times", "peak_gflop_per_s", "product_share",
           "stream_bandwidth", "time_train_step", "top_other_operator"]


def _measure(fn: Callable[[], Any], min_run_time: float, num_threads: int | None, label: str,
             cpu_time: bool = False) -> benchmark.Measurement:
    """``Timer.blocked_autorange`` on ``fn()`` with this process's thread count by default
    (``Timer`` alone would use one thread). ``cpu_time=True`` reads the calling thread's CPU time
    (``time.thread_time``) instead of the wall clock: what the work itself used, not the time
    other programs held the core. It sees no other thread, so it needs ``num_threads=1``."""
    min_run_time = positive_float("min_run_time", min_run_time)
    threads = positive_int(
        "num_threads", torch.get_num_threads() if num_threads is None else num_threads)
    if cpu_time and threads != 1:
        raise ValueError(f"cpu_time=True counts only the calling thread's time; pass "
                         f"num_threads=1 with it (got num_threads={threads})")
    options = {"timer": time.thread_time} if cpu_time else {}
    timer = benchmark.Timer("fn()", globals={"fn": fn}, num_threads=threads, label=label, **options)
    return timer.blocked_autorange(min_run_time=min_run_time)


def time_train_step(step: Callable[[], Any], *, warmup: int = 3, min_run_time: float = 0.3,
                    num_threads: int | None = None, cpu_time: bool = False) -> benchmark.Measurement:
    """Seconds per call of ``step()``, a whole training step (forward, loss, backward, update).

    ``step`` runs ``warmup`` times untimed first, so lazy layers, optimizer state and allocator
    caches exist. The result is a ``torch.utils.benchmark.Measurement``: ``.median`` and
    ``.iqr`` in seconds. The parameters keep changing while it is timed, as in real training.
    ``cpu_time=True`` (CPU only, with ``num_threads=1``) measures CPU time instead of wall time.
    """
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0 (untimed steps first), got {warmup!r}")
    if not callable(step):
        raise ValueError(f"step must be a function of no arguments, got {type(step).__name__}")
    for _ in range(warmup):
        step()
    return _measure(step, min_run_time, num_threads, "training step", cpu_time)


class TimeComparison(NamedTuple):
    """Two things timed side by side in several rounds, compared by :func:`compare_times`.

    ``ratio`` is the mean time of x over the mean time of y; ``low`` and ``high`` the smallest and
    largest ratio of a single round; ``verdict`` "faster", "slower" or "a tie" for x against y;
    ``p`` the two-sided p-value of Welch's t-test on the two sets of round times.
    """

    ratio: float
    low: float
    high: float
    rounds: int
    verdict: str
    p: float

    def __str__(self) -> str:
        return (f"{self.ratio:.2f}x (rounds {self.low:.2f}-{self.high:.2f}, Welch's p = "
                f"{self.p:.3f}): {self.verdict}")


def compare_times(x_seconds: Sequence[float], y_seconds: Sequence[float]) -> TimeComparison:
    """Is x faster than y? Times of both, one per round, judged by the book's one rule.

    The rule is the one for accuracies (:func:`mlp_utils.experiments.welch`): Welch's two-sided
    t-test at 95% on the two samples, here the round times of x and of y. x is "faster" when its
    mean time is lower and the test calls the difference real, "slower" when it is higher, and
    otherwise the two are "a tie". Round ``i`` must time x and y side by side, so that the range
    of the per-round ratios ``x_seconds[i] / y_seconds[i]`` shows how much the ratio moved.
    """
    if len(x_seconds) != len(y_seconds) or len(x_seconds) < 2:
        raise ValueError(f"x_seconds and y_seconds must hold one time per round each, over at least "
                         f"2 rounds (Welch's t-test needs 2 values a side), got {len(x_seconds)} "
                         f"and {len(y_seconds)}")
    x = [positive_float("x_seconds", v) for v in x_seconds]
    y = [positive_float("y_seconds", v) for v in y_seconds]
    ratios = [a / b for a, b in zip(x, y)]
    verdict = welch(y, x)  # y's time "better" (larger) than x's means x is faster
    word = {"better": "faster", "worse": "slower", "tie": "a tie"}[verdict.word]
    return TimeComparison(statistics.fmean(x) / statistics.fmean(y), min(ratios), max(ratios),
                          len(ratios), word, verdict.p)


# Reading a torch.profiler table

PRODUCTS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul"})
"""The ATen operators that multiply matrices (``aten::matmul`` calls ``mm`` or ``bmm``)."""


def operator_times(rows: Sequence[Any], on_gpu: bool = False) -> dict[str, float]:
    """Each profiled operator's own time, in microseconds, from ``prof.key_averages()``.

    On a CPU it is the operator's self CPU time. With ``on_gpu`` it is its self device time: the
    GPU time of the kernels the operator launched itself, not those of the operators it called
    (``device_time_total`` would count ``aten::mm``'s kernel again under ``aten::matmul``). Only
    operator rows count (device type CPU, where a profile records what the program called); the
    rows of the kernels themselves (device type CUDA) would count every kernel a second time.
    """
    attribute = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    times: dict[str, float] = {}
    for row in rows:
        if row.device_type == torch.autograd.DeviceType.CPU:
            times[row.key] = times.get(row.key, 0.0) + float(getattr(row, attribute))
    return times


def product_share(rows: Sequence[Any], on_gpu: bool = False) -> float:
    """The share of the operators' own time (see :func:`operator_times`) spent in matrix
    products (:data:`PRODUCTS`)."""
    times = operator_times(rows, on_gpu)
    total = sum(times.values())
    if total <= 0:
        raise ValueError("the profile holds no operator time to divide (on a GPU: was it "
                         "recorded with ProfilerActivity.CUDA?)")
    return sum(t for key, t in times.items() if key in PRODUCTS) / total


def top_other_operator(rows: Sequence[Any], on_gpu: bool = False) -> tuple[str, float]:
    """The operator that took the most own time outside the matrix products, and its share of
    all operators' own time (see :func:`operator_times`)."""
    times = operator_times(rows, on_gpu)
    total = sum(times.values())
    others = {key: t for key, t in times.items() if key not in PRODUCTS}
    if total <= 0 or not others:
        raise ValueError("the profile holds no operator time outside the matrix products")
    key = max(others, key=others.__getitem__)
    return key, others[key] / total


# Matrix products: the arithmetic, and timing one product

def _mnk(n: int, m: int | None, k: int | None) -> tuple[int, int, int]:
    n = positive_int("n", n)
    m = n if m is None else positive_int("m", m)
    k = n if k is None else positive_int("k", k)
    return n, m, k


def matmul_flops(n: int, m: int | None = None, k: int | None = None) -> int:
    """Floating-point operations of ``(n x k) @ (k x m)``: ``2 n m k`` (a multiply and an add
    for each of the ``k`` terms of each of the ``n m`` outputs). ``m`` and ``k`` default to ``n``."""
    n, m, k = _mnk(n, m, k)
    return 2 * n * m * k


def matmul_bytes(n: int, m: int | None = None, k: int | None = None, itemsize: int = 4) -> int:
    """The least memory traffic of ``(n x k) @ (k x m)``: read both inputs and write the output
    once, ``(n k + k m + n m) * itemsize`` bytes. Real kernels move more (blocks are re-read)."""
    n, m, k = _mnk(n, m, k)
    return (n * k + k * m + n * m) * positive_int("itemsize", itemsize)


def gflop_per_s(flops: float, seconds: float) -> float:
    """Throughput in GFLOP/s (10^9 floating-point operations per second)."""
    return flops / positive_float("seconds", seconds) / 1e9


def gb_per_s(num_bytes: float, seconds: float) -> float:
    """Bandwidth in GB/s (10^9 bytes per second)."""
    return num_bytes / positive_float("seconds", seconds) / 1e9


@dataclass(frozen=True)
class MatmulResult:
    """One timed product ``(n x k) @ (k x m)``, or with ``batch`` > 1 a batch of ``batch``
    such ``(n x k)`` matrices times one ``(k x m)`` matrix: median and IQR in seconds, and the
    rates of the whole product."""

    n: int
    m: int
    k: int
    seconds: float
    iqr: float
    gflop_per_s: float
    gb_per_s: float
    batch: int = 1


def measure_matmul(n: int, m: int | None = None, k: int | None = None, *,
                   device: str | torch.device | None = None, dtype: torch.dtype = torch.float32,
                   min_run_time: float = 0.2, num_threads: int | None = None,
                   cpu_time: bool = False, seed: int = 0, batch: int | None = None) -> MatmulResult:
    """Time ``torch.matmul(A, B, out=C)`` for random ``A`` (n x k) and ``B`` (k x m).

    ``m`` and ``k`` default to ``n`` (a square product). ``C`` is allocated beforehand, so only
    the product is timed. ``device=None`` uses :func:`~mlp_utils.device.pick_device`'s choice;
    ``cpu_time`` is as in :func:`time_train_step`. With ``batch``, ``A`` is a batch of matrices,
    shape ``(batch, n, k)``, times the one ``B``, as a linear layer applies its weights to a batch
    of inputs: ``batch`` times the FLOP of one ``(n x k) @ (k x m)`` product, and its bytes are
    ``A``, ``B`` and ``C`` once each.
    """
    n, m, k = _mnk(n, m, k)
    if batch is not None:
        batch = positive_int("batch", batch)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch dtype such as torch.float32, "
                         f"got {dtype!r}")
    chosen = pick_device(device)
    generator = torch.Generator().manual_seed(seed)
    rows = () if batch is None else (batch,)
    A = torch.randn(*rows, n, k, generator=generator).to(device=chosen, dtype=dtype)
    B = torch.randn(k, m, generator=generator).to(device=chosen, dtype=dtype)
    C = torch.empty(*rows, n, m, device=chosen, dtype=dtype)
    if cpu_time and chosen.type != "cpu":
        raise ValueError(f"cpu_time=True measures CPU work: use it with device='cpu', not {chosen}")
    label = f"{n}x{k} @ {k}x{m}" if batch is None else f"{batch}x{n}x{k} @ {k}x{m}"
    timing = _measure(lambda: torch.matmul(A, B, out=C), min_run_time, num_threads, label, cpu_time)
    copies = 1 if batch is None else batch
    flops = copies * matmul_flops(n, m, k)
    num_bytes = (A.numel() + B.numel() + C.numel()) * A.element_size()
    return MatmulResult(n, m, k, timing.median, timing.iqr, gflop_per_s(flops, timing.median),
                        gb_per_s(num_bytes, timing.median), copies)


def peak_gflop_per_s(device: str | torch.device | None = None, *,
                     sizes: Sequence[int] | None = None, rounds: int = 3,
                     dtype: torch.dtype = torch.float32, min_run_time: float = 0.2,
                     num_threads: int | None = None, cpu_time: bool = False) -> float:
    """The peak matrix-product throughput measured on ``device``: the highest GFLOP/s of
    :func:`measure_matmul` over large square products of ``sizes``, each timed ``rounds`` times.

    The default sizes are 1024 and 2048 on a CPU, 2048, 4096 and 8192 on a GPU: large enough for
    the library to reach its best rate, small enough to time in a second or so. Other programs can
    only slow a measurement down, so the highest one is the best estimate of the peak. Any
    computation whose work is mostly such products, a training step of an MLP for one, runs below
    it: a step whose FLOP count divided by its time comes out above it has its FLOP count wrong.
    Measure it with the same ``num_threads`` and ``cpu_time`` as what it bounds.
    """
    chosen = pick_device(device)
    if sizes is None:
        sizes = (1024, 2048) if chosen.type == "cpu" else (2048, 4096, 8192)
    sizes = [positive_int("sizes entry", n) for n in sizes]
    if not sizes:
        raise ValueError("sizes must name at least one matrix size, got none")
    rounds = positive_int("rounds", rounds)
    return max(measure_matmul(n, device=chosen, dtype=dtype, min_run_time=min_run_time,
                              num_threads=num_threads, cpu_time=cpu_time).gflop_per_s
               for _ in range(rounds) for n in sizes)


# Memory: measured bandwidth, and what the device reports about its bus

def stream_bandwidth(device: str | torch.device | None = None, *, num_bytes: int = 256 * 2**20,
                     min_run_time: float = 0.3, num_threads: int | None = None) -> float:
    """Measured memory bandwidth of ``device`` in GB/s: ``y.copy_(x)`` over two float32 arrays of
    ``num_bytes`` bytes each, counted as ``2 * num_bytes`` of traffic (read x, write y), as
    STREAM's "copy" does. The default 256 MiB is far larger than any CPU's or GPU's cache."""
    num_bytes = positive_int("num_bytes", num_bytes)
    chosen = pick_device(device)
    x = torch.ones(max(num_bytes // 4, 1), device=chosen)
    y = torch.empty_like(x)
    timing = _measure(lambda: y.copy_(x), min_run_time, num_threads, "stream copy")
    return gb_per_s(2 * x.numel() * 4, timing.median)


@dataclass(frozen=True)
class MemoryInfo:
    """What :func:`describe_memory` found; ``None`` where the device does not report it."""

    device: str
    name: str
    bus_width_bits: int | None
    memory_clock_hz: float | None
    theoretical_gb_per_s: float | None
    copy_gb_per_s: float

    def __str__(self) -> str:
        def shown(value: Any, fmt: str) -> str:
            return "not available here" if value is None else fmt.format(value)

        return "\n".join([
            f"device:                  {self.device} ({self.name})",
            f"memory bus width:        {shown(self.bus_width_bits, '{} bit')}",
            f"memory clock:            {shown(self.memory_clock_hz and self.memory_clock_hz / 1e6, '{:.0f} MHz')}",
            f"theoretical bandwidth:   {shown(self.theoretical_gb_per_s, '{:.0f} GB/s')}",
            f"measured copy bandwidth: {self.copy_gb_per_s:.1f} GB/s"])


def describe_memory(device: str | torch.device | None = None, *,
                    min_run_time: float = 0.3) -> MemoryInfo:
    """The memory bus of ``device`` as far as it reports it, and its measured copy bandwidth.

    A CUDA GPU reports its bus width and memory clock through
    ``torch.cuda.get_device_properties`` (in recent torch versions); the theoretical bandwidth is
    then ``2 * clock * width / 8`` (two transfers per clock). A CPU reports neither to programs,
    so only the measured bandwidth (:func:`stream_bandwidth`) is given there.
    """
    chosen = pick_device(device)
    measured = stream_bandwidth(chosen, min_run_time=min_run_time)
    if chosen.type != "cuda":
        return MemoryInfo(chosen.type, platform.processor() or platform.machine() or chosen.type,
                          None, None, None, measured)
    props = torch.cuda.get_device_properties(chosen)
    width = getattr(props, "memory_bus_width", None) or None
    clock_hz = (getattr(props, "memory_clock_rate", 0) or 0) * 1e3 or None  # reported in kHz
    theoretical = 2 * clock_hz * width / 8 / 1e9 if width and clock_hz else None
    return MemoryInfo("cuda", props.name, width, clock_hz, theoretical, measured)
