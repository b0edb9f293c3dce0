"""Shared fixtures: the real Fashion-MNIST, loaded once per test session on the CPU."""
from __future__ import annotations

import pytest
import torch

from mlp_utils import FashionMNIST


@pytest.fixture(scope="session")
def data() -> FashionMNIST:
    return FashionMNIST(batch_size=256, device="cpu")


@pytest.fixture(scope="session")
def small_data() -> FashionMNIST:
    """2,048 training images and the full test set: enough to train for a few steps quickly."""
    return FashionMNIST(batch_size=128, device="cpu", num_train=2048)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
