"""The models of the course: a classifier base, the from-scratch MLP, the concise MLP, and
:class:`DeepMLP` for the exercises (any depth, activation and initialization).

:data:`ACTIVATIONS` is the course's one table of activation functions; the hand-written
backward passes in :mod:`mlp_utils.backprop` are keyed by the same names.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .validate import one_of, positive_float, positive_int

__all__ = ["ACTIVATIONS", "INITIALIZATIONS", "Classifier", "DeepMLP", "MLP", "MLPScratch",
           "count_parameters", "relu"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}
"""Every activation of the course, by name: a factory of its ``nn.Module``."""

INITIALIZATIONS: tuple[str, ...] = ("normal", "zeros", "xavier", "kaiming", "pytorch")


def relu(X: torch.Tensor) -> torch.Tensor:
    """The rectified linear unit written out: the elementwise maximum of ``X`` and 0."""
    return torch.max(X, torch.zeros_like(X))


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters in ``model`` (lazy layers must have seen data first)."""
    return sum(p.numel() for p in model.parameters())


class Classifier(nn.Module):
    """Base class for the classifiers: loss, accuracy and optimizer in one place.

    A subclass sets ``self.lr`` and defines ``forward`` to return logits of shape
    (batch, num_classes). :class:`~mlp_utils.trainer.Trainer` needs nothing else.
    """

    lr: float
    momentum: float = 0.0

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean softmax cross-entropy of ``logits`` against class indices ``y``."""
        return F.cross_entropy(logits, y)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The loss on one training batch, ready for ``backward()``."""
        X, y = batch
        return self.loss(self(X), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Minibatch SGD with the model's learning rate (plain unless ``momentum`` is set)."""
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=self.momentum)

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
        self._check(num_inputs, num_outputs, num_hiddens, lr, sigma)
        self.num_inputs, self.lr = num_inputs, lr
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    @staticmethod
    def _check(num_inputs, num_outputs, num_hiddens, lr, sigma) -> None:
        for name, value in (("num_inputs", num_inputs), ("num_outputs", num_outputs),
                            ("num_hiddens", num_hiddens)):
            positive_int(name, value)
        positive_float("lr", lr)
        positive_float("sigma", sigma)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten each image to a row of ``num_inputs`` features, then ``relu(X W1 + b1) W2 + b2``."""
        X = X.reshape(-1, self.num_inputs)
        H = relu(X @ self.W1 + self.b1)
        return H @ self.W2 + self.b2


class MLP(Classifier):
    """The concise MLP: ``nn.Sequential(Flatten, LazyLinear, ReLU, LazyLinear)``.

    The lazy layers learn their input width from the first batch they see, so the number
    of inputs is never written down.
    """

    def __init__(self, num_outputs: int, num_hiddens: int, lr: float) -> None:
        super().__init__()
        self._check(num_outputs, num_hiddens, lr)
        self.lr = lr
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens), nn.ReLU(),
                                 nn.LazyLinear(num_outputs))

    @staticmethod
    def _check(num_outputs, num_hiddens, lr) -> None:
        positive_int("num_outputs", num_outputs)
        positive_int("num_hiddens", num_hiddens)
        positive_float("lr", lr)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)


class DeepMLP(Classifier):
    """An MLP with any number of hidden layers, built from explicit ``nn.Linear`` layers.

    Args:
        hidden_sizes: the width of each hidden layer, e.g. ``(256,)`` or ``(256, 128, 100)``;
            ``()`` gives softmax regression.
        num_outputs: classes.
        lr: SGD learning rate.
        activation: a name in :data:`ACTIVATIONS`.
        init: ``"normal"`` draws weights from N(0, sigma^2); ``"zeros"`` sets every weight to 0;
            ``"xavier"`` and ``"kaiming"`` use Glorot's and He's normal schemes; ``"pytorch"``
            keeps PyTorch's default. Biases start at zero except with ``"pytorch"``.
        sigma: the standard deviation for ``init="normal"``.
        num_inputs: features per example (784 for flattened 28x28 images).
        momentum: SGD's momentum in :meth:`configure_optimizers` (0: plain SGD).
    """

    def __init__(self, hidden_sizes: Sequence[int], num_outputs: int = 10, lr: float = 0.1,
                 activation: str = "relu", init: str = "normal", sigma: float = 0.01,
                 num_inputs: int = 784, momentum: float = 0.0) -> None:
        super().__init__()
        hidden_sizes = (hidden_sizes,) if isinstance(hidden_sizes, int) else tuple(hidden_sizes)
        self._check(hidden_sizes, num_outputs, lr, activation, init, sigma, num_inputs)
        self.hidden_sizes, self.lr, self.momentum = hidden_sizes, lr, float(momentum)
        self.activation, self.init, self.sigma = activation, init, sigma
        widths = [num_inputs, *hidden_sizes, num_outputs]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    @staticmethod
    def _check(hidden_sizes, num_outputs, lr, activation, init, sigma, num_inputs) -> None:
        for size in hidden_sizes:
            positive_int("hidden_sizes[i]", size)
        positive_int("num_outputs", num_outputs)
        positive_int("num_inputs", num_inputs)
        positive_float("lr", lr)
        positive_float("sigma", sigma)
        one_of("activation", activation, ACTIVATIONS)
        one_of("init", init, INITIALIZATIONS)

    @property
    def linears(self) -> list[nn.Linear]:
        """The fully connected layers, input side first."""
        return [m for m in self.net if isinstance(m, nn.Linear)]

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """(Re)initialize every layer according to ``self.init``."""
        gain_name = self.activation if self.activation in ("relu", "tanh", "sigmoid") else "relu"
        for layer in self.linears:
            if self.init == "pytorch":
                layer.reset_parameters()
                continue
            if self.init == "normal":
                layer.weight.normal_(0.0, self.sigma)
            elif self.init == "zeros":
                layer.weight.zero_()
            elif self.init == "xavier":
                nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain(gain_name))
            elif self.init == "kaiming":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            layer.bias.zero_()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)

    def describe(self) -> str:
        """E.g. ``'784-256-128-10 relu, normal init'``."""
        widths = [self.linears[0].in_features, *self.hidden_sizes, self.linears[-1].out_features]
        return f"{'-'.join(map(str, widths))} {self.activation}, {self.init} init"
