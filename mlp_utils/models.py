"""The models: a classifier base, the from-scratch and concise MLPs, and :class:`DeepMLP`."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .validate import one_of

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU, "silu": nn.SiLU, "elu": nn.ELU}
"""Every activation of the course, by name: a factory of its ``nn.Module``."""

INITIALIZATIONS: tuple[str, ...] = ("normal", "zeros", "xavier", "kaiming", "pytorch")


def relu(X: torch.Tensor) -> torch.Tensor:
    """The rectified linear unit written out: the elementwise maximum of ``X`` and 0."""
    return torch.max(X, torch.zeros_like(X))


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters in ``model`` (lazy layers must have seen data first)."""
    return sum(p.numel() for p in model.parameters())


class Classifier(nn.Module):
    """Base class of the classifiers: a subclass sets ``self.lr`` and defines ``forward`` (logits)."""

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
    """A one-hidden-layer MLP with its parameters written out: weights from N(0, sigma^2), biases 0."""

    def __init__(self, num_inputs: int, num_outputs: int, num_hiddens: int, lr: float,
                 sigma: float = 0.01) -> None:
        super().__init__()
        self.num_inputs, self.lr = num_inputs, lr
        self.W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens) * sigma)
        self.b1 = nn.Parameter(torch.zeros(num_hiddens))
        self.W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs) * sigma)
        self.b2 = nn.Parameter(torch.zeros(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Flatten each image to a row of ``num_inputs`` features, then ``relu(X W1 + b1) W2 + b2``."""
        X = X.reshape(-1, self.num_inputs)
        H = relu(X @ self.W1 + self.b1)
        return H @ self.W2 + self.b2


class MLP(Classifier):
    """The concise MLP: ``nn.Sequential(Flatten, LazyLinear, ReLU, LazyLinear)``."""

    def __init__(self, num_outputs: int, num_hiddens: int, lr: float) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens), nn.ReLU(),
                                 nn.LazyLinear(num_outputs))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)


class DeepMLP(Classifier):
    """An MLP with ``hidden_sizes`` hidden layers (``()``: softmax regression), initialized by ``init``."""

    def __init__(self, hidden_sizes: Sequence[int], num_outputs: int = 10, lr: float = 0.1,
                 activation: str = "relu", init: str = "normal", sigma: float = 0.01,
                 num_inputs: int = 784, momentum: float = 0.0) -> None:
        super().__init__()
        hidden_sizes = (hidden_sizes,) if isinstance(hidden_sizes, int) else tuple(hidden_sizes)
        one_of("activation", activation, ACTIVATIONS)
        one_of("init", init, INITIALIZATIONS)
        self.hidden_sizes, self.lr, self.momentum = hidden_sizes, lr, float(momentum)
        self.activation, self.init, self.sigma = activation, init, sigma
        sizes = [num_inputs, *hidden_sizes]
        layers: list[nn.Module] = [nn.Flatten()]
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], num_outputs))
        self.reset_parameters()

    @property
    def linears(self) -> list[nn.Linear]:
        """The fully connected layers, input side first."""
        return [m for m in self.net if isinstance(m, nn.Linear)]

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """(Re)initialize every layer according to ``self.init``."""
        gain = nn.init.calculate_gain(self.activation if self.activation in ("tanh", "sigmoid") else "relu")
        draw = {"normal": lambda w: w.normal_(0.0, self.sigma), "zeros": nn.init.zeros_,
                "xavier": lambda w: nn.init.xavier_normal_(w, gain=gain),
                "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")}
        for layer in self.linears:
            if self.init == "pytorch":
                layer.reset_parameters()
            else:
                draw[self.init](layer.weight)
                layer.bias.zero_()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)

    def describe(self) -> str:
        """E.g. ``'784-256-128-10 relu, normal init'``."""
        layer_sizes = [self.linears[0].in_features, *self.hidden_sizes, self.linears[-1].out_features]
        return f"{'-'.join(map(str, layer_sizes))} {self.activation}, {self.init} init"
