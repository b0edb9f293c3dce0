"""Fashion-MNIST: the four IDX files found, checked by SHA-256, held as tensors on the device."""
from __future__ import annotations

import copy
import gzip
import hashlib
import os
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch

from .validate import positive_int
from .config import seed_or_default
from .device import pick_device

CLASS_NAMES: tuple[str, ...] = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                "sneaker", "bag", "ankle boot")
_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
_DOWNLOAD_ROOT = Path("data")
_HOW_TO_FIX = ("To fix it: install Debian's package (apt-get install dataset-fashion-mnist), "
               "or set FASHION_MNIST_DIR to a folder holding the four original *-ubyte.gz files, "
               "or run once with a network connection so torchvision can download them into ./data.")


class _RawFile(NamedTuple):
    name: str
    sha256: str
    num_bytes: int


# SHA-256 of the decompressed IDX bytes: the published MD5 sums cover the .gz files, whose gzip
# headers differ between copies (Debian's, for one).
RAW_FILES: dict[str, _RawFile] = {
    "train_images": _RawFile("train-images-idx3-ubyte",
                             "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
    "train_labels": _RawFile("train-labels-idx1-ubyte",
                             "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
    "test_images": _RawFile("t10k-images-idx3-ubyte",
                            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
    "test_labels": _RawFile("t10k-labels-idx1-ubyte",
                            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008)}


class InMemoryData:
    """Training tensors (``X_train``, ``y_train``) served in batches in an order fixed by ``seed``."""

    def view(self, batch_size: int | None = None, seed: int | None = None):
        """The same tensors (not copied) served with another batch size or shuffle seed."""
        other = copy.copy(self)
        other.batch_size = self.batch_size if batch_size is None else batch_size
        other.seed = self.seed if seed is None else int(seed)
        return other

    def train_dataloader(self, epoch: int = 0) -> TensorBatches:
        """Shuffled batches, by ``SeedSequence([seed, epoch])`` (``seed + epoch`` would share orders)."""
        stream = int(np.random.SeedSequence([self.seed, epoch]).generate_state(1, np.uint64)[0] >> 1)
        return TensorBatches(self.X_train, self.y_train, self.batch_size, shuffle=True, seed=stream)


class FashionMNISTError(RuntimeError):
    """The dataset could not be found, read or verified. The message says how to fix it."""


def locate_raw_files(root: str | os.PathLike | None = None, download: bool = True) -> dict[str, Path]:
    """The four IDX files from ``root``, ``$FASHION_MNIST_DIR``, ``./data``, Debian's copy or a download."""
    places = [("root argument", Path(root)), ("root argument, torchvision layout", Path(root) / "FashionMNIST" / "raw")
              ] if root is not None else []
    if os.environ.get("FASHION_MNIST_DIR"):
        places.append(("$FASHION_MNIST_DIR", Path(os.environ["FASHION_MNIST_DIR"])))
    places += [("./data, torchvision layout", _DOWNLOAD_ROOT / "FashionMNIST" / "raw"),
               ("Debian package dataset-fashion-mnist", _DEBIAN_DIR)]
    for description, folder in places:
        found = {key: next((p for p in (folder / raw.name, folder / f"{raw.name}.gz") if p.is_file()), None)
                 for key, raw in RAW_FILES.items()}
        if all(found.values()):
            return found
        if any(found.values()):
            missing = ", ".join(RAW_FILES[key].name for key, path in found.items() if path is None)
            raise FashionMNISTError(f"The Fashion-MNIST folder {folder} ({description}) is incomplete: "
                                    f"missing {missing}. " + _HOW_TO_FIX)
    tried = "\n".join(f"  - {folder} ({description})" for description, folder in places)
    if not download:
        raise FashionMNISTError(f"Fashion-MNIST was not found and download=False. Places tried:\n{tried}\n"
                                + _HOW_TO_FIX)
    target = Path(root) if root is not None else _DOWNLOAD_ROOT
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    try:
        TorchvisionFashionMNIST(str(target), download=True)  # downloads both splits
    except Exception as error:  # torchvision raises several kinds; all mean the same to the reader
        raise FashionMNISTError(f"Fashion-MNIST was not found locally and the download into {target} failed "
                                f"({type(error).__name__}: {error}). Places tried:\n{tried}\n"
                                + _HOW_TO_FIX) from error
    return locate_raw_files(target, download=False)


def read_verified(path: Path, raw: _RawFile) -> bytes:
    """Read ``path`` (decompressing ``.gz``) and check its bytes against ``raw``'s checksum."""
    try:
        content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise FashionMNISTError(f"Could not read {path}: {error}. It is damaged or truncated; replace it. "
                                + _HOW_TO_FIX) from error
    if hashlib.sha256(content).hexdigest() != raw.sha256:
        raise FashionMNISTError(f"{path} does not match the original {raw.name} (SHA-256; {len(content):,}"
                                f" of {raw.num_bytes:,} bytes): it is truncated or altered. " + _HOW_TO_FIX)
    return content


_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _load_raw_split(paths: dict[str, Path], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` of ``split`` as uint8 and int64 CPU tensors, verified once per session."""
    names = (f"{split}_images", f"{split}_labels")
    key = tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in map(paths.get, names))
    if key not in _CACHE:  # the IDX headers (16 and 8 bytes) are part of the verified content
        images, labels = (np.frombuffer(read_verified(paths[n], RAW_FILES[n]), np.uint8, offset=offset)
                          for n, offset in zip(names, (16, 8)))
        _CACHE[key] = (torch.from_numpy(images.reshape(-1, 28, 28).copy()),
                       torch.from_numpy(labels.astype(np.int64)))
    return _CACHE[key]


class TensorBatches:
    """``(X, y)`` in batches, in order or (``shuffle``) in the random order fixed by ``seed``."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle=False, seed=0) -> None:
        self.X, self.y, self.batch_size, self.shuffle, self.seed = X, y, batch_size, shuffle, seed

    def __len__(self) -> int:
        return (len(self.X) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, size = len(self.X), self.batch_size
        if not self.shuffle:
            yield from ((self.X[i:i + size], self.y[i:i + size]) for i in range(0, n, size))
            return
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed)).to(self.X.device)
        yield from ((self.X[order[i:i + size]], self.y[order[i:i + size]]) for i in range(0, n, size))


class FashionMNIST(InMemoryData):
    """Fashion-MNIST on ``device``: ``X`` float32 in [0, 1] (B, 1, 28, 28), ``y`` int64; ``seed`` fixes
    the shuffles, the ``validation_size`` held out and the ``num_train`` subset."""

    num_classes = len(CLASS_NAMES)

    def __init__(self, batch_size: int = 256, root: str | os.PathLike | None = None,
                 device: str | torch.device | None = None, seed: int | None = None, validation_size: int = 0,
                 num_train: int | None = None, download: bool = True) -> None:
        self.batch_size = positive_int("batch_size", batch_size)
        if isinstance(validation_size, bool) or not isinstance(validation_size, int) \
                or not 0 <= validation_size < 60000:
            raise ValueError(f"validation_size must be an integer in [0, 60000), got {validation_size!r}")
        if num_train is not None and positive_int("num_train", num_train) > 60000 - validation_size:
            raise ValueError(f"num_train={num_train} is more than the {60000 - validation_size} training "
                             "images left after the validation split")
        self.seed, self.validation_size = seed_or_default(seed), validation_size
        self.device = pick_device(device)
        self.paths = locate_raw_files(root, download=download)
        train_images, train_labels = _load_raw_split(self.paths, "train")
        test_images, test_labels = _load_raw_split(self.paths, "test")
        order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(self.seed))
        val_index, train_index = order[:validation_size], order[validation_size:][:num_train]
        if validation_size == 0 and num_train is None:
            train_index = torch.arange(len(train_images))  # keep the file's order when nothing is carved out
        self.X_train, self.y_train = self._to_device(train_images[train_index], train_labels[train_index])
        self.X_test, self.y_test = self._to_device(test_images, test_labels)
        self.X_val, self.y_val = self._to_device(train_images[val_index], train_labels[val_index])

    def _to_device(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X = images.to(self.device).unsqueeze(1).float().div_(255)
        return X, labels.to(self.device)

    def __repr__(self) -> str:
        return (f"FashionMNIST(train={len(self.X_train)}, val={len(self.X_val)}, test={len(self.X_test)}, "
                f"batch_size={self.batch_size}, device={self.device})")

    eval_split = property(lambda self: "val" if self.validation_size else "test")

    def val_dataloader(self) -> TensorBatches:
        """Validation batches, in order (only when the module has a validation split)."""
        if not self.validation_size:
            raise ValueError("this FashionMNIST has no validation split; build it with "
                             "FashionMNIST(validation_size=5000), or use test_dataloader()")
        return TensorBatches(self.X_val, self.y_val, self.batch_size)

    def eval_dataloader(self) -> TensorBatches:
        """Batches of :attr:`eval_split`, which the trainer measures after every epoch."""
        return self.val_dataloader() if self.validation_size else self.test_dataloader()

    def test_dataloader(self) -> TensorBatches:
        """Test batches, in order."""
        return TensorBatches(self.X_test, self.y_test, self.batch_size)

    @staticmethod
    def text_labels(indices: Sequence[int] | torch.Tensor) -> list[str]:
        """Class names for class indices, e.g. ``[0, 9] -> ['t-shirt', 'ankle boot']``."""
        values = [int(i) for i in indices]
        if any(not 0 <= i < len(CLASS_NAMES) for i in values):  # a negative index would wrap silently
            raise ValueError(f"class indices must lie in 0..{len(CLASS_NAMES) - 1}, got {values}")
        return [CLASS_NAMES[i] for i in values]
