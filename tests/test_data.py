"""The data module on the real dataset, and its error paths on small synthetic IDX files."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from mlp_utils import CLASS_NAMES, FashionMNIST
from mlp_utils.data import FashionMNISTError
from mlp_utils import data as data_module
from mlp_utils.data import RAW_FILES, locate_raw_files


def test_sizes_shapes_dtypes_and_range(data):
    assert len(data.X_train) == 60000 and len(data.X_test) == 10000
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (256, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (256,) and y.dtype == torch.int64
    assert data.X_train.min() >= 0 and data.X_train.max() <= 1
    assert data.X_train.max() == 1 and data.X_train.min() == 0  # the full range is used
    assert set(y.tolist()) <= set(range(10))


def test_six_thousand_training_images_per_class(data):
    counts = torch.bincount(data.y_train, minlength=10)
    assert counts.tolist() == [6000] * 10
    assert torch.bincount(data.y_test, minlength=10).tolist() == [1000] * 10


def test_batches_cover_the_epoch_once(data):
    batches = data.train_dataloader(epoch=3)
    assert len(batches) == 235  # 234 full batches and one of 96
    seen = torch.cat([y for _, y in batches])
    assert len(seen) == 60000
    assert torch.equal(torch.bincount(seen, minlength=10), torch.bincount(data.y_train, minlength=10))


def test_no_two_seeds_share_an_epoch_order(data):
    """Runs compared as independent samples must not see the same batches: with a shuffle seeded
    by seed + epoch, seed 1's epoch 1 was seed 0's epoch 2."""
    orders = {}
    for seed in range(3):
        view = data.view(seed=seed)
        for epoch in range(1, 11):
            orders[seed, epoch] = tuple(next(iter(view.train_dataloader(epoch)))[1][:64].tolist())
    assert len(set(orders.values())) == len(orders)


def test_shuffle_is_seeded_per_epoch(data):
    first = next(iter(data.train_dataloader(epoch=1)))[1]
    again = next(iter(data.train_dataloader(epoch=1)))[1]
    other = next(iter(data.train_dataloader(epoch=2)))[1]
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_validation_split_is_carved_from_training_set(data):
    split = FashionMNIST(device="cpu", validation_size=5000, seed=1)
    assert len(split.X_train) == 55000 and len(split.X_val) == 5000
    assert len(split.X_test) == 10000
    # validation images are training images, not test images
    assert not torch.equal(split.X_val[:10], data.X_test[:10])
    assert len(split.val_dataloader()) == 20


def test_text_labels(data):
    assert data.text_labels([0, 9, 7]) == ["t-shirt", "ankle boot", "sneaker"]
    assert data.text_labels(torch.tensor([1])) == [CLASS_NAMES[1]]


def test_show_images_draws_a_labelled_grid(data):
    from mlp_utils.plots import show_images

    fig = show_images(data.X_train[:6], 2, 3, titles=data.text_labels(data.y_train[:6]))
    assert [ax.get_title() for ax in fig.axes] == data.text_labels(data.y_train[:6])


def test_val_never_silently_means_test(data):
    assert data.eval_split == "test" and len(data.X_val) == 0
    with pytest.raises(ValueError, match="validation_size"):
        data.val_dataloader()
    assert torch.equal(next(iter(data.eval_dataloader()))[0], data.X_test[:data.batch_size])


def test_a_view_shares_the_tensors_with_another_batch_size_and_seed(data):
    view = data.view(batch_size=1000, seed=9)
    assert view.X_train is data.X_train and len(view.train_dataloader(1)) == 60
    assert data.batch_size == 256 and len(data.train_dataloader(1)) == 235
    first = next(iter(view.train_dataloader(1)))[1]
    assert not torch.equal(first[:256], next(iter(data.train_dataloader(1)))[1])


@pytest.mark.parametrize("kwargs, name", [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": -3}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"num_train": 0}, "num_train"),
    ({"validation_size": -1}, "validation_size"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FashionMNIST(device="cpu", **kwargs)


# --- error paths, on synthetic files -------------------------------------------------------------

def _write_fake_idx(folder: Path, names=None, corrupt: str | None = None, truncate: str | None = None) -> None:
    """Write stand-ins for the four IDX files (valid headers, wrong content unless copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, raw in RAW_FILES.items():
        if names is not None and key not in names:
            continue
        content = bytes(raw.num_bytes)
        if key == truncate:
            content = content[: raw.num_bytes // 2]
        with gzip.open(folder / f"{raw.name}.gz", "wb") as handle:
            handle.write(content)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run from an empty folder with no $FASHION_MNIST_DIR and no Debian copy to fall back on."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data_module, "_DEBIAN_DIR", tmp_path / "no-debian")
    return tmp_path


def test_altered_file_fails_its_checksum(isolated):
    _write_fake_idx(isolated / "fake")
    with pytest.raises(FashionMNISTError, match=r"does not match the original.*dataset-fashion-mnist"):
        FashionMNIST(root=isolated / "fake", device="cpu", download=False)


def test_truncated_file_is_reported(isolated):
    folder = isolated / "trunc"
    _write_fake_idx(folder)
    real = Path("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
    if not real.exists():
        pytest.skip("needs the Debian dataset package")
    partial = gzip.decompress(real.read_bytes())[:1000]
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(partial))
    with pytest.raises(FashionMNISTError, match="train-labels-idx1-ubyte.*truncated"):
        data_module.read_verified(folder / "train-labels-idx1-ubyte.gz", RAW_FILES["train_labels"])


def test_cut_gzip_stream_is_reported(isolated):
    folder = isolated / "cut"
    _write_fake_idx(folder, names=["test_labels"])
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(FashionMNISTError, match="damaged or truncated"):
        data_module.read_verified(path, RAW_FILES["test_labels"])


def test_incomplete_folder_names_the_missing_files(isolated, monkeypatch):
    _write_fake_idx(isolated / "partial", names=["train_images", "train_labels"])
    monkeypatch.setenv("FASHION_MNIST_DIR", str(isolated / "partial"))
    with pytest.raises(FashionMNISTError, match="incomplete: missing t10k-images-idx3-ubyte, t10k-labels"):
        FashionMNIST(device="cpu", download=False)


def test_nothing_found_lists_the_places_tried(isolated):
    with pytest.raises(FashionMNISTError) as error:
        locate_raw_files(download=False)
    message = str(error.value)
    assert "download=False" in message and "no-debian" in message and "FASHION_MNIST_DIR" in message


def test_failed_download_is_one_clear_error(isolated, monkeypatch):
    from torchvision.datasets import FashionMNIST as TorchvisionFashionMNIST

    def refuse(self, *args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(TorchvisionFashionMNIST, "download", refuse)
    with pytest.raises(FashionMNISTError, match=r"(?s)download into data failed.*run once with a network connection"):
        locate_raw_files(download=True)


def test_search_order_env_var_then_torchvision_layout_then_debian(isolated, monkeypatch):
    debian = Path("/usr/share/datasets/fashion-mnist")
    if not debian.exists():
        pytest.skip("needs the Debian dataset package")
    copy = isolated / "copy"
    shutil.copytree(debian, copy)
    monkeypatch.setenv("FASHION_MNIST_DIR", str(copy))
    assert locate_raw_files(download=False)["train_images"].parent == copy
    monkeypatch.delenv("FASHION_MNIST_DIR")
    layout = isolated / "data" / "FashionMNIST" / "raw"
    shutil.copytree(debian, layout)
    assert locate_raw_files(download=False)["train_images"].parent == Path("data/FashionMNIST/raw")
    # an explicit root wins over everything, and may hold uncompressed files
    plain = isolated / "plain"
    plain.mkdir()
    for raw in RAW_FILES.values():
        (plain / raw.name).write_bytes(gzip.decompress((debian / f"{raw.name}.gz").read_bytes()))
    found = FashionMNIST(root=plain, device="cpu", download=False)
    assert found.paths["test_labels"] == plain / "t10k-labels-idx1-ubyte"
    assert len(found.X_test) == 10000


def test_text_labels_refuse_an_index_outside_the_classes():
    assert FashionMNIST.text_labels(torch.tensor([0, 9])) == ["t-shirt", "ankle boot"]
    for wrong in ([10], [-1]):
        with pytest.raises(ValueError, match="0..9"):
            FashionMNIST.text_labels(wrong)
