"""Timing for exercises 6 and 7 (``torch.utils.benchmark``, median and IQR): training steps, matrix
products, peak rate, memory bandwidth, profiler tables, and two timings compared by the book's rule."""
from __future__ import annotations

import logging
import platform
import statistics
import time
from collections import namedtuple
from typing import Any, Callable, Sequence

import torch

from .device import pick_device
from .experiments import p_text, welch

# torch.utils.benchmark imports torch.utils.cpp_extension, which warns on machines with a CUDA
# toolkit folder but no GPU; the warning concerns compiling extensions, which the course never does.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
from torch.utils import benchmark  # noqa: E402


def _measure(fn: Callable[[], Any], min_run_time: float, num_threads: int | None, label: str,
             cpu_time: bool = False) -> benchmark.Measurement:
    """``Timer.blocked_autorange`` on ``fn()``; ``cpu_time=True`` reads the calling thread's CPU time."""
    threads = torch.get_num_threads() if num_threads is None else num_threads
    if cpu_time and threads != 1:
        raise ValueError(f"cpu_time=True counts one thread's time: pass num_threads=1, not {threads}")
    options = {"timer": time.thread_time} if cpu_time else {}
    timer = benchmark.Timer("fn()", globals={"fn": fn}, num_threads=threads, label=label, **options)
    return timer.blocked_autorange(min_run_time=min_run_time)


def time_train_step(step: Callable[[], Any], *, warmup: int = 3, min_run_time: float = 0.3,
                    num_threads: int | None = None, cpu_time: bool = False) -> benchmark.Measurement:
    """Seconds per call of ``step()`` after ``warmup`` untimed calls (``.median`` and ``.iqr``)."""
    for _ in range(warmup):
        step()
    return _measure(step, min_run_time, num_threads, "training step", cpu_time)


class TimeComparison(namedtuple("_Times", "ratio low high rounds verdict p")):
    """Mean time of x over y's, the extreme ratios of one round, the verdict for x, and Welch's p."""
    def __str__(self) -> str:
        return (f"{self.ratio:.2f}x (rounds {self.low:.2f}-{self.high:.2f}, Welch's "
                f"{p_text(self.p)}): {self.verdict}")


def compare_times(x_seconds: Sequence[float], y_seconds: Sequence[float]) -> TimeComparison:
    """Is x faster than y? Their times, one per round, judged by the book's one rule (Welch's t-test)."""
    if len(x_seconds) != len(y_seconds) or len(x_seconds) < 2:
        raise ValueError(f"x_seconds and y_seconds need one time per round each, over at least 2 rounds "
                         f"(Welch's t-test), got {len(x_seconds)} and {len(y_seconds)}")
    x, y = list(x_seconds), list(y_seconds)
    ratios = [a / b for a, b in zip(x, y)]
    verdict = welch(y, x)  # y's time "better" (larger) than x's means x is faster
    word = {"better": "faster", "worse": "slower", "tie": "tie"}[verdict.word]
    return TimeComparison(statistics.fmean(x) / statistics.fmean(y), min(ratios), max(ratios),
                          len(ratios), word, verdict.p)


# Reading a torch.profiler table
PRODUCTS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul"})
"""The ATen operators that multiply matrices (``aten::matmul`` calls ``mm`` or ``bmm``)."""


def operator_times(rows: Sequence[Any], on_gpu: bool = False) -> dict[str, float]:
    """Each operator's self CPU (or device) time in us from ``prof.key_averages()``; kernel rows skipped."""
    attribute = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    times: dict[str, float] = {}
    for row in (row for row in rows if row.device_type == torch.autograd.DeviceType.CPU):
        times[row.key] = times.get(row.key, 0.0) + float(getattr(row, attribute))
    return times


def _times_and_total(rows: Sequence[Any], on_gpu: bool) -> tuple[dict[str, float], float]:
    times = operator_times(rows, on_gpu)
    if sum(times.values()) <= 0:
        raise ValueError("the profile holds no operator time; on a GPU, record with ProfilerActivity.CUDA")
    return times, sum(times.values())


def product_share(rows: Sequence[Any], on_gpu: bool = False) -> float:
    """The share of the operators' own time spent in matrix products (:data:`PRODUCTS`)."""
    times, total = _times_and_total(rows, on_gpu)
    return sum(t for key, t in times.items() if key in PRODUCTS) / total


def top_other_operator(rows: Sequence[Any], on_gpu: bool = False) -> tuple[str, float]:
    """The operator that took the most own time outside the matrix products, and its share of all."""
    times, total = _times_and_total(rows, on_gpu)
    others = {key: t for key, t in times.items() if key not in PRODUCTS}
    if not others:
        raise ValueError("the profile holds no operator time outside the matrix products")
    key = max(others, key=others.__getitem__)
    return key, others[key] / total


# Matrix products: the arithmetic, and timing one product
def _mnk(n: int, m: int | None, k: int | None) -> tuple[int, int, int]:
    return n, n if m is None else m, n if k is None else k


def matmul_flops(n: int, m: int | None = None, k: int | None = None) -> int:
    """Floating-point operations of ``(n x k) @ (k x m)``: ``2 n m k``. ``m`` and ``k`` default to ``n``."""
    n, m, k = _mnk(n, m, k)
    return 2 * n * m * k


def matmul_bytes(n: int, m: int | None = None, k: int | None = None, itemsize: int = 4) -> int:
    """The least memory traffic of ``(n x k) @ (k x m)``, each matrix once: ``(nk + km + nm) * itemsize``."""
    n, m, k = _mnk(n, m, k)
    return (n * k + k * m + n * m) * itemsize


# one timed (batch x) n x k @ k x m: median and IQR in seconds, and the whole product's GFLOP/s and GB/s
MatmulResult = namedtuple("MatmulResult", "n m k seconds iqr gflop_per_s gb_per_s batch", defaults=(1,))


def measure_matmul(n: int, m: int | None = None, k: int | None = None, *,
                   device: str | torch.device | None = None, dtype: torch.dtype = torch.float32,
                   min_run_time: float = 0.2, num_threads: int | None = None,
                   cpu_time: bool = False, seed: int = 0, batch: int | None = None) -> MatmulResult:
    """Time ``torch.matmul(A, B, out=C)`` for random ``A`` (n x k), or (batch, n, k), and ``B`` (k x m)."""
    n, m, k = _mnk(n, m, k)
    chosen = pick_device(device)
    if cpu_time and chosen.type != "cpu":
        raise ValueError(f"cpu_time=True measures CPU work: use it with device='cpu', not {chosen}")
    generator = torch.Generator().manual_seed(seed)
    rows = () if batch is None else (batch,)
    A, B = (torch.randn(*size, generator=generator).to(chosen, dtype) for size in ((*rows, n, k), (k, m)))
    C = torch.empty(*rows, n, m, device=chosen, dtype=dtype)
    label = "x".join(map(str, (*rows, n, k))) + f" @ {k}x{m}"
    timing = _measure(lambda: torch.matmul(A, B, out=C), min_run_time, num_threads, label, cpu_time)
    flops = (batch or 1) * matmul_flops(n, m, k)
    num_bytes = sum(t.numel() * t.element_size() for t in (A, B, C))
    return MatmulResult(n, m, k, timing.median, timing.iqr, flops / timing.median / 1e9,
                        num_bytes / timing.median / 1e9, batch or 1)


def peak_gflop_per_s(device: str | torch.device | None = None, *, sizes: Sequence[int] | None = None,
                     rounds: int = 3, dtype: torch.dtype = torch.float32, min_run_time: float = 0.2,
                     num_threads: int | None = None, cpu_time: bool = False) -> float:
    """The highest GFLOP/s of :func:`measure_matmul` over square ``sizes``, each timed ``rounds`` times."""
    chosen = pick_device(device)
    sizes = sizes or ((1024, 2048) if chosen.type == "cpu" else (2048, 4096, 8192))
    return max(measure_matmul(n, device=chosen, dtype=dtype, min_run_time=min_run_time,
                              num_threads=num_threads, cpu_time=cpu_time).gflop_per_s
               for _ in range(rounds) for n in sizes)


# Memory: measured bandwidth, and what the device reports about its bus
def stream_bandwidth(device: str | torch.device | None = None, *, num_bytes: int = 256 * 2**20,
                     min_run_time: float = 0.3, num_threads: int | None = None) -> float:
    """Measured bandwidth in GB/s of ``y.copy_(x)`` over ``num_bytes`` each, as STREAM's "copy"."""
    x = torch.ones(max(num_bytes // 4, 1), device=pick_device(device))
    y = torch.empty_like(x)
    timing = _measure(lambda: y.copy_(x), min_run_time, num_threads, "stream copy")
    return 2 * x.numel() * 4 / timing.median / 1e9


class _MemoryInfo(namedtuple("_Memory", "device name bus_width_bits memory_clock_hz theoretical_gb_per_s "
                                        "copy_gb_per_s")):
    """What :func:`describe_memory` found; ``None`` where the device does not report it."""
    def __str__(self) -> str:
        def shown(value: Any, fmt: str) -> str:
            return "not available here" if value is None else fmt.format(value)
        return "\n".join([
            f"device:                  {self.device} ({self.name})",
            f"memory bus width:        {shown(self.bus_width_bits, '{} bit')}",
            f"memory clock:            {shown(self.memory_clock_hz and self.memory_clock_hz / 1e6, '{:.0f} MHz')}",
            f"theoretical bandwidth:   {shown(self.theoretical_gb_per_s, '{:.0f} GB/s')}",
            f"measured copy bandwidth: {self.copy_gb_per_s:.1f} GB/s"])


def describe_memory(device: str | torch.device | None = None, *, min_run_time: float = 0.3) -> _MemoryInfo:
    """The memory bus as far as a CUDA GPU reports it (a CPU: nothing), and the measured copy bandwidth."""
    chosen = pick_device(device)
    measured = stream_bandwidth(chosen, min_run_time=min_run_time)
    if chosen.type != "cuda":
        return _MemoryInfo(chosen.type, platform.processor() or platform.machine() or chosen.type,
                          None, None, None, measured)
    props = torch.cuda.get_device_properties(chosen)
    width = getattr(props, "memory_bus_width", None) or None
    clock_hz = (getattr(props, "memory_clock_rate", 0) or 0) * 1e3 or None  # reported in kHz
    theoretical = 2 * clock_hz * width / 8 / 1e9 if width and clock_hz else None
    return _MemoryInfo("cuda", props.name, width, clock_hz, theoretical, measured)
