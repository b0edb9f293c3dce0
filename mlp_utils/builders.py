"""A builder for MLPs of any depth, width, activation and initialization (used by the exercises)."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from .checks import check_positive_float, check_positive_int
from .models import Classifier

__all__ = ["ACTIVATIONS", "INITIALIZATIONS", "DeepMLP", "count_parameters"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
}

INITIALIZATIONS: tuple[str, ...] = ("normal", "zeros", "xavier", "kaiming", "pytorch")


class DeepMLP(Classifier):
    """An MLP with any number of hidden layers, built from explicit ``nn.Linear`` layers.

    Args:
        hidden_sizes: the width of each hidden layer, e.g. ``(256,)`` or ``(256, 128, 100)``;
            ``()`` gives softmax regression.
        num_outputs: classes.
        lr: SGD learning rate.
        activation: one of :data:`ACTIVATIONS` (``"relu"``, ``"sigmoid"``, ``"tanh"``, ...).
        init: ``"normal"`` draws weights from N(0, sigma^2); ``"zeros"`` sets every weight to 0;
            ``"xavier"`` and ``"kaiming"`` use Glorot's and He's normal schemes; ``"pytorch"``
            keeps PyTorch's default. Biases start at zero except with ``"pytorch"``.
        sigma: the standard deviation for ``init="normal"``.
        num_inputs: features per example (784 for flattened 28x28 images).
    """

    def __init__(self, hidden_sizes: Sequence[int], num_outputs: int = 10, lr: float = 0.1,
                 activation: str = "relu", init: str = "normal", sigma: float = 0.01,
                 num_inputs: int = 784) -> None:
        super().__init__()
        if isinstance(hidden_sizes, int):
            hidden_sizes = (hidden_sizes,)
        self.hidden_sizes = tuple(check_positive_int("hidden_sizes[i]", h) for h in hidden_sizes)
        self.lr = check_positive_float("lr", lr)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if init not in INITIALIZATIONS:
            raise ValueError(f"init must be one of {list(INITIALIZATIONS)}, got {init!r}")
        self.activation, self.init = activation, init
        self.sigma = check_positive_float("sigma", sigma)
        widths = [check_positive_int("num_inputs", num_inputs), *self.hidden_sizes,
                  check_positive_int("num_outputs", num_outputs)]
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

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


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters in ``model`` (lazy layers must have seen data first)."""
    return sum(p.numel() for p in model.parameters())
