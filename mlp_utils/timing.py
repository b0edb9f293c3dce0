"""Timing helpers for the speed exercises: medians from ``torch.utils.benchmark``, matmul
FLOP and byte counts, and what a device tells us about its memory.

* :func:`time_fn` times any zero-argument callable in blocks, as
  ``torch.utils.benchmark.Timer.blocked_autorange`` does and with its clock (which synchronizes
  CUDA/MPS before every reading), and returns a :class:`Timing` with the median and
  interquartile range.
* :func:`time_train_step` does the same for one training step, after a few warm-up steps.
* :func:`measure_matmul` / :func:`time_matmul` time ``A @ B`` for an ``n x k`` times ``k x m``
  product; :func:`matmul_flops`, :func:`matmul_bytes`, :func:`gflop_per_s` and
  :func:`gb_per_s` turn sizes and seconds into rates.
* :func:`describe_memory` collects what the device reports about its memory (for a CUDA GPU
  the bus width and memory clock; for a CPU what Linux exposes: model name, caches, RAM) and
  :func:`stream_bandwidth` measures the memory bandwidth with a STREAM-like copy, add or sum
  over arrays much larger than the last-level cache.

Timings depend on the machine and on whatever else it is doing: print them, never write them
down by hand.
"""
from __future__ import annotations

import logging
import math
import os
import platform
import re
import shutil
import subprocess
import timeit
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch

from .checks import check_positive_float, check_positive_int
from .device import pick_device

__all__ = [
    "MatmulResult",
    "MemoryInfo",
    "Timing",
    "describe_memory",
    "gb_per_s",
    "gflop_per_s",
    "matmul_bytes",
    "matmul_flops",
    "measure_matmul",
    "stream_bandwidth",
    "synchronize",
    "time_fn",
    "time_matmul",
    "time_train_step",
]

STREAM_KINDS: dict[str, int] = {"copy": 2, "add": 3, "sum": 1}
"""Arrays read or written per element by each :func:`stream_bandwidth` kernel (STREAM's counting)."""


def _sync_clock() -> Callable[[], float]:
    """The clock of ``torch.utils.benchmark``: ``timeit.default_timer`` after synchronizing any
    accelerator (CUDA, MPS, ...), so asynchronous kernels are finished when it is read.

    Importing the benchmark package imports ``torch.utils.cpp_extension``, which logs a
    harmless warning on machines that have a CUDA toolkit folder but no GPU (it concerns
    compiling C++ extensions, which we never do); it is silenced for the import.
    """
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        from torch.utils.benchmark.utils.timer import timer
    finally:
        logger.setLevel(level)
    return timer


def synchronize(device: str | torch.device | None = None) -> None:
    """Wait until every queued kernel on ``device`` has finished (a no-op on the CPU)."""
    device = torch.device(device) if device is not None else None
    if device is None or device.type == "cpu":
        return
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@dataclass(frozen=True)
class Timing:
    """The result of :func:`time_fn`: seconds per call.

    Attributes:
        median: median seconds per call over the measured blocks.
        iqr: interquartile range of the per-call seconds (0 when only one block was measured).
        runs: calls measured in total (``blocks * number_per_block``; warm-up not counted).
        blocks: timed blocks; each block runs the function ``runs // blocks`` times.
        threads: CPU threads torch was allowed to use while measuring.
        device: the device the work ran on, e.g. ``"cpu"`` or ``"cuda"``.
        label: free text naming what was timed.
    """

    median: float
    iqr: float
    runs: int
    blocks: int
    threads: int
    device: str = "cpu"
    label: str = ""

    @property
    def ms(self) -> float:
        """The median in milliseconds."""
        return self.median * 1e3

    @property
    def relative_iqr(self) -> float:
        """``iqr / median``: how noisy the measurement was (0.05 means 5 %)."""
        return self.iqr / self.median if self.median > 0 else float("nan")

    def __str__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return (f"{name}{self.ms:.3f} ms median (IQR {self.iqr * 1e3:.3f} ms, {self.runs} runs "
                f"in {self.blocks} blocks, {self.device}, {self.threads} threads)")


def time_fn(fn: Callable[[], Any], *, min_run_time: float = 0.2,
            device: str | torch.device | None = None, num_threads: int | None = None,
            min_blocks: int = 5, label: str = "") -> Timing:
    """Median seconds per call of ``fn()``, with ``torch.utils.benchmark``'s synchronizing clock.

    Like ``torch.utils.benchmark.Timer.blocked_autorange``, calls are grouped in blocks long
    enough for the clock's overhead not to matter, and blocks are timed until ``min_run_time``
    seconds have been spent; the clock synchronizes CUDA or MPS before every reading, so
    asynchronous kernels are counted in full. Unlike it, the block is sized to about a tenth of
    ``min_run_time`` (at least 1 ms), so a short measurement still gives several blocks and a
    meaningful median and interquartile range. The block-size search doubles as warm-up.

    Args:
        fn: the work to time, called with no arguments; its result is discarded.
        min_run_time: seconds of measurement, at least (the warm-up comes on top).
        device: where ``fn`` computes; only recorded in the result. ``None`` records
            :func:`~mlp_utils.device.pick_device`'s choice.
        num_threads: CPU threads torch may use while timing; default ``torch.get_num_threads()``
            (``Timer`` itself would default to 1 thread).
        min_blocks: time at least this many blocks even if ``min_run_time`` is reached sooner.
        label: free text stored in the result.
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    min_run_time = check_positive_float("min_run_time", min_run_time)
    min_blocks = check_positive_int("min_blocks", min_blocks)
    threads = check_positive_int("num_threads", num_threads if num_threads is not None
                                 else torch.get_num_threads())
    chosen = pick_device(device)
    clock = _sync_clock()
    timer = timeit.Timer(fn, timer=clock)
    block_target = max(min_run_time / 10, 1e-3)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        timer.timeit(1)  # warm-up: first calls allocate, JIT-select kernels, fill caches
        number = 1
        while True:
            seconds = timer.timeit(number)
            if seconds >= block_target or number >= 2**24:
                break
            # Aim for the target directly, growing at least 2x and at most 10x per try.
            number = min(number * 10, max(number * 2, math.ceil(number * block_target / max(seconds, 1e-9))))
        times: list[float] = []
        total = 0.0
        while total < min_run_time or len(times) < min_blocks:
            seconds = timer.timeit(number)
            times.append(seconds / number)
            total += seconds
    finally:
        torch.set_num_threads(previous_threads)
    q25, median, q75 = (float(q) for q in torch.tensor(times, dtype=torch.float64).quantile(
        torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)))
    return Timing(median=median, iqr=q75 - q25, runs=number * len(times), blocks=len(times),
                  threads=threads, device=chosen.type, label=label)


def time_train_step(step: Callable[[], Any], *, warmup: int = 3, min_run_time: float = 0.5,
                    device: str | torch.device | None = None, num_threads: int | None = None,
                    label: str = "") -> Timing:
    """Median seconds of one training step.

    ``step`` must do a whole step (forward, loss, backward, parameter update) on a fixed batch
    when called with no arguments. It runs ``warmup`` times untimed first (so lazy layers,
    optimizer state and allocator caches exist), then :func:`time_fn` measures it. The
    parameters keep changing while it is timed, as in real training.
    """
    if not callable(step):
        raise ValueError(f"step must be callable, got {type(step).__name__}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    for _ in range(warmup):
        step()
    return time_fn(step, min_run_time=min_run_time, device=device, num_threads=num_threads,
                   label=label)


# ----------------------------------------------------------------------------------------------
# Matrix multiplication
# ----------------------------------------------------------------------------------------------

def _mnk(n: int, m: int | None, k: int | None) -> tuple[int, int, int]:
    n = check_positive_int("n", n)
    m = n if m is None else check_positive_int("m", m)
    k = n if k is None else check_positive_int("k", k)
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
    itemsize = check_positive_int("itemsize", itemsize)
    return (n * k + k * m + n * m) * itemsize


def gflop_per_s(flops: float, seconds: float) -> float:
    """Throughput in GFLOP/s (10^9 floating-point operations per second)."""
    check_positive_float("seconds", seconds)
    return flops / seconds / 1e9


def gb_per_s(num_bytes: float, seconds: float) -> float:
    """Bandwidth in GB/s (10^9 bytes per second)."""
    check_positive_float("seconds", seconds)
    return num_bytes / seconds / 1e9


@dataclass(frozen=True)
class MatmulResult:
    """One timed matrix product ``(n x k) @ (k x m)`` (see :func:`measure_matmul`)."""

    n: int
    m: int
    k: int
    dtype: str
    device: str
    seconds: float
    iqr: float
    gflop_per_s: float
    gb_per_s: float

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary (handy for tables)."""
        return asdict(self)


def measure_matmul(n: int, m: int | None = None, k: int | None = None, *,
                   device: str | torch.device | None = None, dtype: torch.dtype = torch.float32,
                   min_run_time: float = 0.2, min_blocks: int = 5, seed: int = 0) -> MatmulResult:
    """Time ``torch.matmul(A, B, out=C)`` for ``A`` (n x k), ``B`` (k x m) on ``device``.

    The output is preallocated so only the multiplication is timed, not the allocation.
    ``m`` and ``k`` default to ``n`` (a square product). ``min_run_time`` and ``min_blocks``
    go to :func:`time_fn`. Returns the median seconds with the derived GFLOP/s
    (:func:`matmul_flops`) and effective bandwidth (:func:`matmul_bytes`).
    """
    n, m, k = _mnk(n, m, k)
    chosen = pick_device(device)
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(n, k, generator=generator).to(device=chosen, dtype=dtype)
    B = torch.randn(k, m, generator=generator).to(device=chosen, dtype=dtype)
    C = torch.empty(n, m, device=chosen, dtype=dtype)
    timing = time_fn(lambda: torch.matmul(A, B, out=C), min_run_time=min_run_time,
                     min_blocks=min_blocks, device=chosen, label=f"{n}x{k} @ {k}x{m}")
    itemsize = A.element_size()
    return MatmulResult(
        n=n, m=m, k=k, dtype=str(dtype).replace("torch.", ""), device=chosen.type,
        seconds=timing.median, iqr=timing.iqr,
        gflop_per_s=gflop_per_s(matmul_flops(n, m, k), timing.median),
        gb_per_s=gb_per_s(matmul_bytes(n, m, k, itemsize), timing.median))


def time_matmul(n: int, m: int | None = None, k: int | None = None, *,
                device: str | torch.device | None = None, dtype: torch.dtype = torch.float32,
                min_run_time: float = 0.2) -> float:
    """Median seconds of ``(n x k) @ (k x m)`` on ``device`` (see :func:`measure_matmul`)."""
    return measure_matmul(n, m, k, device=device, dtype=dtype, min_run_time=min_run_time).seconds


# ----------------------------------------------------------------------------------------------
# Memory
# ----------------------------------------------------------------------------------------------

@dataclass
class MemoryInfo:
    """What a device reports about its memory; ``None`` where it reports nothing.

    Attributes:
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``.
        name: the processor's or GPU's model name.
        total_bytes: the memory size (RAM for the CPU, device memory for a GPU).
        bus_width_bits: the memory bus width, if the device reports it (CUDA GPUs do).
        memory_clock_hz: the memory clock, if reported.
        theoretical_gb_per_s: ``2 * clock * bus_width / 8`` (double data rate), when both known.
        caches: cache level/type to size in bytes, e.g. ``{"L1d": 32768, "L3": 33554432}``.
        cache_line_bytes: the cache line (coherency unit) size, if reported.
        simd: the widest vector instruction set the CPU advertises (e.g. ``"AVX2 (256-bit)"``).
        virtual_machine: True when the CPU flags say a hypervisor is present.
        notes: sentences explaining what could not be found and why.
    """

    device: str
    name: str
    total_bytes: int | None = None
    bus_width_bits: int | None = None
    memory_clock_hz: float | None = None
    theoretical_gb_per_s: float | None = None
    caches: dict[str, int] = field(default_factory=dict)
    cache_line_bytes: int | None = None
    simd: str | None = None
    virtual_machine: bool | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def last_level_cache_bytes(self) -> int | None:
        """Size of the largest cache listed (the last level), or ``None``."""
        return max(self.caches.values()) if self.caches else None

    def __str__(self) -> str:
        def size(num: int | None) -> str:
            if num is None:
                return "not reported"
            for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
                if num >= scale:
                    return f"{num / scale:.4g} {unit}"
            return f"{num} B"

        lines = [f"device:               {self.device} ({self.name})",
                 f"memory size:          {size(self.total_bytes)}",
                 "memory bus width:     " + (f"{self.bus_width_bits} bit" if self.bus_width_bits
                                             else "not reported"),
                 "memory clock:         " + (f"{self.memory_clock_hz / 1e6:.0f} MHz"
                                             if self.memory_clock_hz else "not reported"),
                 "theoretical bandwidth: " + (f"{self.theoretical_gb_per_s:.1f} GB/s"
                                              if self.theoretical_gb_per_s else "not reported")]
        if self.caches:
            lines.append("caches:               " + ", ".join(
                f"{level} {size(num)}" for level, num in self.caches.items()))
        if self.cache_line_bytes:
            lines.append(f"cache line:           {self.cache_line_bytes} bytes")
        if self.simd:
            lines.append(f"widest SIMD:          {self.simd}")
        if self.virtual_machine is not None:
            lines.append(f"virtual machine:      {'yes' if self.virtual_machine else 'no'}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _parse_size(text: str) -> int | None:
    """'32K' -> 32768, '32768K' -> 33554432, '1M' -> 1048576 (sysfs cache sizes)."""
    match = re.fullmatch(r"(\d+)\s*([KMG]?)i?B?", text.strip(), flags=re.IGNORECASE)
    if not match:
        return None
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2).upper()]
    return int(match.group(1)) * scale


def _cpu_caches(cpu_dir: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> tuple[dict[str, int], int | None]:
    """Cache sizes of the first core from sysfs, as ``{"L1d": bytes, ...}``, and the line size."""
    caches: dict[str, int] = {}
    line: int | None = None
    for index in sorted(cpu_dir.glob("index*")):
        level, kind, size = (_read(index / name) for name in ("level", "type", "size"))
        if level is None or size is None or _parse_size(size) is None:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind or "", "")
        caches[f"L{level}{suffix}"] = _parse_size(size)  # type: ignore[assignment]
        line_text = _read(index / "coherency_line_size")
        if line_text and line_text.isdigit():
            line = int(line_text)
    return caches, line


def _cpuinfo() -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo as a dict (empty off Linux)."""
    text = _read(Path("/proc/cpuinfo")) or ""
    info: dict[str, str] = {}
    for row in text.split("\n\n")[0].splitlines():
        if ":" in row:
            key, value = row.split(":", 1)
            info[key.strip()] = value.strip()
    return info


def _mem_total() -> int | None:
    text = _read(Path("/proc/meminfo")) or ""
    match = re.search(r"MemTotal:\s+(\d+)\s*kB", text)
    if match:
        return int(match.group(1)) * 1024
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _dmidecode_memory() -> tuple[int | None, float | None, str]:
    """Bus width (bits per module) and speed (MT/s) from ``dmidecode -t memory``, if it works.

    dmidecode reads the firmware's SMBIOS tables, which needs root and real firmware; in a
    container or virtual machine it is usually missing, forbidden, or reports made-up values.
    """
    exe = shutil.which("dmidecode")
    if exe is None:
        return None, None, "dmidecode is not installed"
    try:
        result = subprocess.run([exe, "-t", "memory"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError) as error:
        return None, None, f"dmidecode failed ({type(error).__name__})"
    if result.returncode != 0:
        return None, None, "dmidecode could not read the firmware tables (it needs root)"
    widths = [int(w) for w in re.findall(r"^\s*Data Width:\s*(\d+) bits", result.stdout, re.M)]
    speeds = [float(s) for s in re.findall(r"^\s*(?:Configured Memory )?Speed:\s*(\d+) MT/s",
                                           result.stdout, re.M)]
    if not widths:
        return None, None, "dmidecode lists no memory modules with a data width"
    modules = len(widths)
    return (sum(widths), max(speeds) if speeds else None,
            f"dmidecode lists {modules} memory module(s); the bus width is their sum, which "
            "is only the real width if each sits on its own channel")


def _cpu_memory_info() -> MemoryInfo:
    cpuinfo = _cpuinfo()
    name = cpuinfo.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    flags = set(cpuinfo.get("flags", cpuinfo.get("Features", "")).split())  # x86 / ARM
    caches, line = _cpu_caches()
    simd = None
    for flag, label in (("avx512f", "AVX-512 (512-bit)"), ("avx2", "AVX2 (256-bit)"),
                        ("avx", "AVX (256-bit)"), ("sse2", "SSE2 (128-bit)"),
                        ("asimd", "NEON (128-bit)")):
        if flag in flags:
            simd = label
            break
    info = MemoryInfo(device="cpu", name=name, total_bytes=_mem_total(), caches=caches,
                      cache_line_bytes=line, simd=simd,
                      virtual_machine=("hypervisor" in flags) if "flags" in cpuinfo else None)
    width, speed, dmi_note = _dmidecode_memory()
    if width is not None:
        info.bus_width_bits = width
        if speed is not None:
            info.memory_clock_hz = speed * 1e6 / 2  # MT/s are two transfers per clock
            info.theoretical_gb_per_s = 2 * info.memory_clock_hz * width / 8 / 1e9
        info.notes.append(dmi_note)
    else:
        info.notes.append(
            f"The CPU does not report its DRAM bus width to programs ({dmi_note}). "
            "Each DDR channel is 64 bits wide, so the width is channels x 64 bit: find the channel "
            "count and memory speed in the CPU vendor's datasheet or with `sudo dmidecode -t memory`.")
    if info.virtual_machine:
        info.notes.append("This is a virtual machine: the hypervisor hides the host's memory "
                          "configuration, so measure the bandwidth with stream_bandwidth() instead.")
    if not caches:
        info.notes.append("No cache sizes found in /sys/devices/system/cpu/cpu0/cache.")
    return info


def _cuda_memory_info(device: torch.device) -> MemoryInfo:
    index = device.index if device.index is not None else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    info = MemoryInfo(device="cuda", name=props.name, total_bytes=int(props.total_memory))
    width = getattr(props, "memory_bus_width", None)
    clock_khz = getattr(props, "memory_clock_rate", None)
    l2 = getattr(props, "L2_cache_size", None)
    if l2:
        info.caches["L2"] = int(l2)
    if width:
        info.bus_width_bits = int(width)
    if clock_khz:
        info.memory_clock_hz = float(clock_khz) * 1e3
    if width and clock_khz:
        info.theoretical_gb_per_s = 2 * info.memory_clock_hz * width / 8 / 1e9  # type: ignore[operator]
        info.notes.append("Theoretical bandwidth = 2 (double data rate) x memory clock x bus "
                          "width / 8; GDDR6X and HBM encode differently, so treat it as an estimate.")
    else:
        info.notes.append("This torch version does not expose memory_bus_width/memory_clock_rate; "
                          "run `nvidia-smi -q` or look up the GPU's specification.")
    return info


def describe_memory(device: str | torch.device | None = None) -> MemoryInfo:
    """What ``device`` reports about its memory (see :class:`MemoryInfo`).

    * CUDA: name, total memory, L2 cache, and the memory bus width and clock from
      ``torch.cuda.get_device_properties`` when this torch version exposes them, with the
      theoretical bandwidth ``2 * clock * bus_width / 8``.
    * CPU: the model name (``/proc/cpuinfo``), cache sizes and line size (sysfs), RAM
      (``/proc/meminfo``), the widest SIMD extension, and whether it runs under a hypervisor.
      The DRAM bus width is not visible to programs; ``dmidecode`` is tried (it needs root
      and real firmware) and a note says what is missing.
    * MPS: only the name; Apple does not expose the memory bus.
    """
    chosen = pick_device(device)
    if chosen.type == "cuda":
        return _cuda_memory_info(chosen)
    if chosen.type == "cpu":
        return _cpu_memory_info()
    info = MemoryInfo(device=chosen.type, name=platform.processor() or chosen.type)
    info.notes.append(f"{chosen.type} does not report its memory bus; use stream_bandwidth().")
    return info


def stream_bandwidth(device: str | torch.device | None = None, *, kind: str = "copy",
                     num_bytes: int | None = None, min_run_time: float = 0.3,
                     num_threads: int | None = None) -> float:
    """Measured memory bandwidth of ``device`` in GB/s, STREAM style.

    Kernels (``kind``), each over float32 arrays of ``num_bytes`` bytes:

    * ``"copy"``: ``y.copy_(x)``, counted as 2 arrays of traffic (read x, write y);
    * ``"add"``: ``torch.add(a, b, out=c)``, 3 arrays (read a and b, write c);
    * ``"sum"``: ``x.sum()``, 1 array (read only).

    Writes on a CPU usually cost an extra read of the destination line (write-allocate), which
    STREAM's counting ignores, so copy and add understate the bus traffic a little. The default
    array size is 8 times the last-level cache and at least 256 MiB, so the data cannot stay in
    cache. Bandwidth on a CPU also depends on how many cores pull data at once.
    """
    if kind not in STREAM_KINDS:
        raise ValueError(f"kind must be one of {sorted(STREAM_KINDS)}, got {kind!r}")
    chosen = pick_device(device)
    if num_bytes is None:
        info = describe_memory(chosen)
        llc = info.last_level_cache_bytes or 0
        num_bytes = max(8 * llc, 256 * 2**20)
    num_bytes = check_positive_int("num_bytes", num_bytes)
    count = max(num_bytes // 4, 1)
    x = torch.ones(count, device=chosen)
    if kind == "copy":
        y = torch.empty_like(x)
        fn: Callable[[], Any] = lambda: y.copy_(x)
    elif kind == "add":
        b, c = torch.ones_like(x), torch.empty_like(x)
        fn = lambda: torch.add(x, b, out=c)
    else:
        fn = lambda: x.sum()
    timing = time_fn(fn, min_run_time=min_run_time, device=chosen, num_threads=num_threads,
                     label=f"stream {kind}")
    return gb_per_s(STREAM_KINDS[kind] * count * 4, timing.median)
