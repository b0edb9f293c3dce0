"""Tests for mlp_utils.timing: the arithmetic, the ratio rule and the Welch rule for times, the
profile readers, quick real measurements, and the argument errors."""
from __future__ import annotations

import time
import types

import pytest
import torch
from scipy import stats
from torch.autograd import DeviceType
from torch.utils.flop_counter import FlopCounterMode

from mlp_utils import MLP
from mlp_utils.answers import train_step_flops
from mlp_utils.timing import (
    PRODUCTS,
    compare_times,
    operator_times,
    product_share,
    top_other_operator,
    describe_memory,
    matmul_bytes,
    matmul_flops,
    measure_matmul,
    peak_gflop_per_s,
    stream_bandwidth,
    time_train_step,
)


def test_matmul_flops_and_bytes_known_cases() -> None:
    assert matmul_flops(1024) == 2 * 1024**3
    assert matmul_flops(2, 3, 4) == 2 * 2 * 3 * 4
    assert matmul_bytes(2, 3, 4) == (2 * 4 + 4 * 3 + 2 * 3) * 4  # A, B and C once, float32
    assert matmul_bytes(10, itemsize=2) == 3 * 100 * 2


@pytest.mark.parametrize("n, m, k", [(1024, None, None), (2, 3, 4), (7, 1, 33), (256, 10, 784)])
def test_matmul_flops_matches_the_flop_counter(n, m, k) -> None:
    A = torch.randn(n, n if k is None else k)
    B = torch.randn(A.shape[1], n if m is None else m)
    with FlopCounterMode(display=False) as counter:
        torch.matmul(A, B)
    assert matmul_flops(n, m, k) == counter.get_total_flops()


@pytest.mark.parametrize("x, y", [
    ([1.0, 1.1, 1.05, 0.98, 1.02], [2.0, 2.1, 2.2, 1.9, 2.05]),   # clearly faster
    ([3.0, 3.3, 2.9], [2.0, 2.1, 1.9]),                            # clearly slower
    ([1.0, 1.4, 0.7], [1.05, 1.45, 0.75]),                         # every round faster, yet a tie
    ([1.0, 1.2, 0.9, 1.1, 1.0], [1.1, 1.0, 1.0, 1.2, 0.95]),      # rounds disagree
])
def test_compare_times_follows_welchs_test_at_95_percent(x, y) -> None:
    result = compare_times(x, y)
    test = stats.ttest_ind(x, y, equal_var=False)  # the reference: scipy's Welch test
    expected = "tie" if test.pvalue >= 0.05 else ("faster" if sum(x) < sum(y) else "slower")
    assert result.verdict == expected
    assert result.p == pytest.approx(test.pvalue)
    assert result.ratio == pytest.approx((sum(x) / len(x)) / (sum(y) / len(y)))
    ratios = [a / b for a, b in zip(x, y)]
    assert (result.low, result.high, result.rounds) == (min(ratios), max(ratios), len(x))
    assert result.verdict in str(result)


def test_compare_times_is_stricter_than_all_rounds_agreeing() -> None:
    """Three rounds that all put x ahead happen one time in four for two identical things; the
    old rule called that faster, the 95% test does not when the rounds spread widely."""
    x, y = [1.0, 1.4, 0.7], [1.05, 1.45, 0.75]
    assert all(a < b for a, b in zip(x, y))  # every round puts x ahead
    assert compare_times(x, y).verdict == "tie"
    assert compare_times(y, x).verdict == "tie"


def _row(key, device_type=DeviceType.CPU, self_cpu=0.0, self_device=0.0, device_total=0.0):
    return types.SimpleNamespace(key=key, device_type=device_type, self_cpu_time_total=self_cpu,
                                 self_device_time_total=self_device, device_time_total=device_total)


def test_gpu_profile_counts_each_kernel_once() -> None:
    """A CUDA profile as key_averages() gives it: operator rows whose device_time_total includes
    their children's kernels (aten::matmul holds aten::mm's), and one row per kernel besides."""
    rows = [
        _row("aten::matmul", self_cpu=5, self_device=0, device_total=60),
        _row("aten::mm", self_cpu=10, self_device=60, device_total=60),
        _row("aten::addmm", self_cpu=10, self_device=20, device_total=20),
        _row("aten::add_", self_cpu=8, self_device=15, device_total=15),
        _row("aten::relu", self_cpu=4, self_device=0, device_total=10),
        _row("aten::clamp_min", self_cpu=3, self_device=10, device_total=10),
        _row("Optimizer.step#SGD.step", self_cpu=30, self_device=0, device_total=15),
        _row("cudaLaunchKernel", self_cpu=20),
        _row("sm90_xmma_gemm_f32f32_tf32f32", DeviceType.CUDA, self_device=80, device_total=80),
        _row("vectorized_elementwise_kernel", DeviceType.CUDA, self_device=25, device_total=25),
    ]
    kernels = sum(r.self_device_time_total for r in rows if r.device_type == DeviceType.CUDA)
    times = operator_times(rows, on_gpu=True)
    assert "sm90_xmma_gemm_f32f32_tf32f32" not in times
    assert sum(times.values()) == kernels  # every kernel once: 105 us
    assert product_share(rows, on_gpu=True) == pytest.approx(80 / 105)
    assert top_other_operator(rows, on_gpu=True) == ("aten::add_", pytest.approx(15 / 105))
    # on the CPU side of the same profile, the self CPU times
    assert product_share(rows) == pytest.approx(25 / 90)
    assert top_other_operator(rows)[0] == "Optimizer.step#SGD.step"


def test_cpu_profile_shares_match_the_events() -> None:
    """On a real CPU profile of a few training steps, the shares agree with a sum over the raw
    events, and the operator named is not a product."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    X, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    model = MLP(10, 32, lr=0.1)
    model(X[:1])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            model.loss(model(X), y).backward()
    rows = prof.key_averages()
    events = [e for e in prof.events() if e.device_type == DeviceType.CPU]
    total = sum(e.self_cpu_time_total for e in events)
    products = sum(e.self_cpu_time_total for e in events if e.name in PRODUCTS)
    assert 0 < product_share(rows) < 1
    assert product_share(rows) == pytest.approx(products / total)
    key, share = top_other_operator(rows)
    assert key not in PRODUCTS and 0 < share < 1
    assert sum(operator_times(rows).values()) == pytest.approx(total)


def test_measure_matmul_gives_consistent_positive_rates() -> None:
    result = measure_matmul(64, 32, 16, device="cpu", min_run_time=0.02)
    assert (result.n, result.m, result.k) == (64, 32, 16)
    assert 0 < result.seconds < 1 and result.iqr >= 0
    assert result.gflop_per_s == pytest.approx(matmul_flops(64, 32, 16) / result.seconds / 1e9)
    assert result.gb_per_s == pytest.approx(matmul_bytes(64, 32, 16) / result.seconds / 1e9)


@pytest.mark.parametrize("batch, n, k, m", [(3, 5, 7, 2), (8, 16, 33, 17), (1, 4, 4, 4)])
def test_a_batch_times_one_matrix_counts_like_the_flop_counter(batch, n, k, m) -> None:
    result = measure_matmul(n, m, k, batch=batch, device="cpu", min_run_time=0.01)
    A, B = torch.randn(batch, n, k), torch.randn(k, m)
    with FlopCounterMode(display=False) as counter:
        torch.matmul(A, B)
    flops = counter.get_total_flops()  # the reference: PyTorch's own count
    assert (result.batch, result.n, result.m, result.k) == (batch, n, m, k)
    assert result.gflop_per_s == pytest.approx(flops / result.seconds / 1e9)
    num_bytes = sum(t.numel() * t.element_size() for t in (A, B, torch.matmul(A, B)))
    assert result.gb_per_s == pytest.approx(num_bytes / result.seconds / 1e9)


def test_without_a_batch_the_result_is_one_product() -> None:
    assert measure_matmul(8, 4, 2, device="cpu", min_run_time=0.01).batch == 1


def test_larger_product_takes_longer() -> None:
    small = measure_matmul(32, device="cpu", min_run_time=0.02, num_threads=1)
    large = measure_matmul(256, device="cpu", min_run_time=0.02, num_threads=1)
    assert large.seconds > 4 * small.seconds  # 512x the arithmetic


def test_peak_is_the_fastest_of_all_sizes_and_rounds(monkeypatch) -> None:
    import mlp_utils.timing as timing

    calls: list[tuple[int, dict]] = []
    rates = iter([5.0, 9.0, 7.0, 8.0, 6.0, 4.0])

    def fake(n, **options):
        calls.append((n, options))
        return types.SimpleNamespace(gflop_per_s=next(rates))

    monkeypatch.setattr(timing, "measure_matmul", fake)
    assert peak_gflop_per_s("cpu", rounds=3, num_threads=1, cpu_time=True) == 9.0
    assert [n for n, _ in calls] == [1024, 2048] * 3  # the default sizes on a CPU, every round
    assert all(o["num_threads"] == 1 and o["cpu_time"] and o["dtype"] == torch.float32
               for _, o in calls)


def test_peak_measures_real_products() -> None:
    peak = peak_gflop_per_s("cpu", sizes=(32, 64), rounds=1, min_run_time=0.01, num_threads=1)
    assert 0 < peak < 1e5


def test_a_training_step_runs_below_the_peak_product_rate() -> None:
    """The sanity check of exercise 6: a step's FLOP (train_step_flops, which FlopCounterMode
    confirms) over its time stays below the fastest large product, on the same thread and clock."""
    torch.manual_seed(0)
    X, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    model = MLP(10, 512, lr=0.1)
    model(X[:1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step() -> None:
        loss = model.loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    timing = time_train_step(step, min_run_time=0.1, num_threads=1, cpu_time=True)
    rate = train_step_flops([784, 512, 10], 256) / timing.median / 1e9
    peak = peak_gflop_per_s("cpu", sizes=(1024,), rounds=2, min_run_time=0.1, num_threads=1,
                            cpu_time=True)
    assert 0 < rate < peak


def test_time_train_step_warms_up_then_times_real_steps() -> None:
    calls: list[int] = []
    x = torch.randn(64, 64)

    def step() -> None:
        calls.append(1)
        x @ x

    threads = torch.get_num_threads()
    timing = time_train_step(step, warmup=3, min_run_time=0.02, num_threads=1)
    assert torch.get_num_threads() == threads  # restored after timing with 1 thread
    assert 0 < timing.median < 0.1 and timing.iqr >= 0
    assert len(calls) >= 3 + timing.number_per_run * len(timing.times)


def test_cpu_time_counts_work_not_sleep() -> None:
    def step() -> None:
        time.sleep(0.002)  # waiting uses no CPU time

    wall = time_train_step(step, warmup=0, min_run_time=0.02, num_threads=1)
    cpu = time_train_step(step, warmup=0, min_run_time=0.02, num_threads=1, cpu_time=True)
    assert wall.median > 0.0015 and cpu.median < 0.5 * wall.median


def test_memory_on_the_cpu_reports_a_measured_bandwidth_only() -> None:
    assert 0.1 < stream_bandwidth("cpu", num_bytes=2**22, min_run_time=0.02) < 10_000
    info = describe_memory("cpu", min_run_time=0.02)
    assert info.device == "cpu" and info.copy_gb_per_s > 0
    assert info.bus_width_bits is None and info.theoretical_gb_per_s is None
    assert "bus width:        not available here" in str(info)


@pytest.mark.parametrize("call, match", [
    (lambda: compare_times([1.0], [1.0]), "at least 2 rounds"),
    (lambda: compare_times([1.0, 2.0], [1.0]), "one time per round each"),
    (lambda: product_share([_row("aten::mm")]), "no operator time"),
    (lambda: top_other_operator([_row("aten::mm", self_cpu=1.0)]), "outside the matrix products"),
    (lambda: measure_matmul(8, device="tpu?"), "device='tpu\\?' is not a device name"),
    (lambda: time_train_step(lambda: None, num_threads=2, cpu_time=True), "pass num_threads=1"),
])
def test_bad_arguments_name_the_argument(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()
