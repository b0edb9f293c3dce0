"""Benchmark: the course's Trainer against a minimal loop and the classic torchvision pipeline.

Run ``python tools/bench.py`` (``make bench``). In one process it trains the reference model (784-256-10,
ReLU, SGD with learning rate 0.1, batch size 256) for the same number of epochs three ways and
prints the times side by side:

* ``trainer``: :func:`mlp_utils.experiments.train` (the one :class:`~mlp_utils.Trainer`) on
  :class:`mlp_utils.FashionMNIST` held in memory (no bar, no plot);
* ``minimal``: a hand-written loop over the same in-memory tensors doing the same SGD steps,
  the floor that any trainer adds overhead to (the one loop of the course written outside it);
* ``classic``: the same Trainer fed by torchvision's ``FashionMNIST`` dataset with ``ToTensor``
  and a ``DataLoader``, which decodes every image through PIL on every epoch (as the book's own
  library does).

The trainer and the minimal loop are timed ``--repeats`` times, alternating, and the fastest
run of each is kept; the classic pipeline, much slower, once.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch.nn import functional as F

from mlp_utils.data import RAW_FILES, FashionMNIST, read_verified
from mlp_utils.experiments import Settings, train
from mlp_utils.trainer import Trainer, evaluate

TARGET_VS_MINIMAL = 1.15
TARGET_VS_CLASSIC = 8.0
TARGET_ACCURACY = 0.84


def time_trainer(data: FashionMNIST, epochs: int, seed: int) -> tuple[float, torch.nn.Module]:
    start = time.perf_counter()
    run = train(Settings(epochs=epochs), data, seed)
    return time.perf_counter() - start, run.model


def time_minimal(data: FashionMNIST, epochs: int, seed: int) -> float:
    """The same SGD steps over the same tensors, with nothing but the arithmetic."""
    torch.manual_seed(seed)
    model = Settings().build()
    optimizer = torch.optim.SGD(model.parameters(), lr=model.lr)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(data.X_train))
        for i in range(0, len(order), data.batch_size):
            index = order[i:i + data.batch_size]
            loss = F.cross_entropy(model(data.X_train[index]), data.y_train[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        evaluate(model, data.test_dataloader())
    return time.perf_counter() - start


class _ClassicData:
    """torchvision's FashionMNIST through DataLoaders, as a data module for the Trainer."""

    eval_split = "test"

    def __init__(self, train_loader, test_loader) -> None:
        self.train_loader, self.test_loader = train_loader, test_loader

    def train_dataloader(self, epoch: int = 0):
        return self.train_loader

    def eval_dataloader(self):
        return self.test_loader


def time_classic(data: FashionMNIST, epochs: int, seed: int, num_workers: int) -> float:
    """torchvision Dataset + ToTensor + DataLoader over the raw files, as most tutorials do it."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    with tempfile.TemporaryDirectory() as root:
        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True)
        for key, info in RAW_FILES.items():
            (raw / info.name).write_bytes(read_verified(data.paths[key], info))
        train_set = datasets.FashionMNIST(root, train=True, transform=transforms.ToTensor(), download=False)
        test_set = datasets.FashionMNIST(root, train=False, transform=transforms.ToTensor(), download=False)
        # torch warns when there are more workers than cores; the book's library uses 4 anyway
        warnings.filterwarnings("ignore", message="This DataLoader will create")
        loaders = _ClassicData(
            DataLoader(train_set, batch_size=data.batch_size, shuffle=True, num_workers=num_workers),
            DataLoader(test_set, batch_size=data.batch_size, shuffle=False, num_workers=num_workers))
        torch.manual_seed(seed)
        model = Settings().build()
        start = time.perf_counter()
        Trainer(max_epochs=epochs, device="cpu", progress=False).fit(model, loaders)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=4,
                        help="DataLoader worker processes for the classic pipeline (the book's library uses 4)")
    parser.add_argument("--skip-classic", action="store_true", help="skip the slow classic pipeline")
    args = parser.parse_args(argv)

    data = FashionMNIST(batch_size=256, device="cpu")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.epochs} epochs, batch 256")
    trainer_times, minimal_times = [], []
    for repeat in range(args.repeats):
        minimal_times.append(time_minimal(data, args.epochs, args.seed))
        seconds, model = time_trainer(data, args.epochs, args.seed)
        trainer_times.append(seconds)
        print(f"  repeat {repeat + 1}: minimal {minimal_times[-1]:.2f} s, trainer {seconds:.2f} s")
    trainer_s, minimal_s = min(trainer_times), min(minimal_times)
    _, test_acc = evaluate(model, data.test_dataloader())

    print(f"\n{'pipeline':<10} {'seconds':>8}")
    print(f"{'minimal':<10} {minimal_s:>8.2f}")
    print(f"{'trainer':<10} {trainer_s:>8.2f}")
    ok = True
    ratio = trainer_s / minimal_s
    verdict = "ok" if ratio <= TARGET_VS_MINIMAL else "MISSED"
    ok &= ratio <= TARGET_VS_MINIMAL
    lines = [f"trainer / minimal loop: {ratio:.3f}x  (target <= {TARGET_VS_MINIMAL}x: {verdict})"]
    if not args.skip_classic:
        classic_s = time_classic(data, args.epochs, args.seed, args.workers)
        print(f"{'classic':<10} {classic_s:>8.2f}")
        speedup = classic_s / trainer_s
        verdict = "ok" if speedup >= TARGET_VS_CLASSIC else "MISSED"
        ok &= speedup >= TARGET_VS_CLASSIC
        lines.append(f"classic pipeline / trainer: {speedup:.1f}x faster  (target >= {TARGET_VS_CLASSIC}x: {verdict})")
    verdict = "ok" if test_acc >= TARGET_ACCURACY else "MISSED"
    ok &= test_acc >= TARGET_ACCURACY
    lines.append(f"test accuracy after {args.epochs} epochs: {test_acc:.4f}  (target >= {TARGET_ACCURACY}: {verdict})")
    print("\n" + "\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
