"""The models of the course: a classifier base, the from-scratch MLP and the concise MLP."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_positive_float, check_positive_int

__all__ = ["Classifier", "MLP", "MLPScratch", "relu"]


def relu(X: torch.Tensor) -> torch.Tensor:
    """The rectified linear unit written out: the elementwise maximum of ``X`` and 0."""
    return torch.max(X, torch.zeros_like(X))


class Classifier(nn.Module):
    """Base class for the classifiers: loss, accuracy and optimizer in one place.

    A subclass sets ``self.lr`` and defines ``forward`` to return logits of shape
    (batch, num_classes). :class:`~mlp_utils.train.Trainer` needs nothing else.
    """

    lr: float

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean softmax cross-entropy of ``logits`` against class indices ``y``."""
        return F.cross_entropy(logits, y)

    @staticmethod
    def num_correct(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """How many rows of ``logits`` put their maximum on the right class (a 0-d tensor)."""
        return (logits.argmax(dim=1) == y).sum()

    def accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of rows of ``logits`` whose arg-max is the label."""
        return self.num_correct(logits, y).item() / len(y)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The loss on one training batch, ready for ``backward()``."""
        X, y = batch
        return self.loss(self(X), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Plain minibatch SGD with the model's learning rate."""
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    @torch.no_grad()
    def predict(self, X: torch.Tensor) -> torch.Tensor:
        """Predicted class indices for a batch of images."""
        return self(X).argmax(dim=1)


class MLPScratch(Classifier):
    """A one-hidden-layer MLP with every parameter written out by hand.

    ``W1`` (num_inputs x num_hiddens) and ``W2`` (num_hiddens x num_outputs) are drawn from
    N(0, sigma^2); the biases ``b1`` and ``b2`` start at zero. All four are ``nn.Parameter``,
    so autograd tracks them and ``parameters()`` hands them to the optimizer.
    """

    def __init__(self, num_inputs: int, num_outputs: int, num_hiddens: int, lr: float,
                 sigma: float = 0.01) -> None:
        super().__init__()
        self.num_inputs = check_positive_int("num_inputs", num_inputs)
        num_outputs = check_positive_int("num_outputs", num_outputs)
        num_hiddens = check_positive_int("num_hiddens", num_hiddens)
        self.lr = check_positive_float("lr", lr)
        sigma = check_positive_float("sigma", sigma)
        self.W1 = nn.Parameter(torch.randn(self.num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten each image to a row of ``num_inputs`` features, then ``relu(X W1 + b1) W2 + b2``."""
        X = X.reshape(-1, self.num_inputs)
        H = relu(X @ self.W1 + self.b1)
        return H @ self.W2 + self.b2


class MLP(Classifier):
    """The concise MLP: ``nn.Sequential(Flatten, LazyLinear, ReLU, LazyLinear)``.

    The lazy layers learn their input width from the first batch they see, so the number
    of inputs is never written down. Its ``forward`` is inherited: it calls ``self.net``.
    """

    def __init__(self, num_outputs: int, num_hiddens: int, lr: float) -> None:
        super().__init__()
        self.lr = check_positive_float("lr", lr)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.LazyLinear(check_positive_int("num_hiddens", num_hiddens)),
            nn.ReLU(),
            nn.LazyLinear(check_positive_int("num_outputs", num_outputs)),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)
