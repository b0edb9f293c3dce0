"""Backpropagation by hand: each local gradient as a small function, chained by :class:`ManualMLP`
(no autograd); activation backwards take the activation's output, which the forward pass keeps."""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch

from .validate import one_of
from .device import pick_device
from .models import ACTIVATIONS

Tensor = torch.Tensor


def linear_backward(dZ: Tensor, H: Tensor, W: Tensor, input_grad: bool = True
                    ) -> tuple[Tensor | None, Tensor, Tensor]:
    """``(dZ W^T, H^T dZ, sum_rows dZ)`` for ``Z = H W + b``; ``dH`` is ``None`` if not ``input_grad``."""
    dH = dZ @ W.T if input_grad else None
    return dH, H.T @ dZ, dZ.sum(dim=0)


def relu_backward(dY: Tensor, Y: Tensor) -> Tensor:
    """Backward of ``Y = relu(Z)``: pass ``dY`` where the unit was active (``Y > 0``), else 0."""
    return dY * (Y > 0).to(dY.dtype)


def sigmoid_backward(dY: Tensor, Y: Tensor) -> Tensor:
    """Backward of ``Y = sigmoid(Z)``: ``dZ = dY * Y * (1 - Y)``, from the output alone."""
    return dY * Y * (1 - Y)


def tanh_backward(dY: Tensor, Y: Tensor) -> Tensor:
    """Backward of ``Y = tanh(Z)``: ``dZ = dY * (1 - Y^2)``, from the output alone."""
    return dY * (1 - Y * Y)


_BACKWARDS = {"relu": relu_backward, "sigmoid": sigmoid_backward, "tanh": tanh_backward}


def softmax(O: Tensor) -> Tensor:
    """Row-wise softmax, computed from the max-shifted logits so ``exp`` never overflows."""
    exps = (O - O.max(dim=1, keepdim=True).values).exp()
    return exps / exps.sum(dim=1, keepdim=True)


def one_hot(y: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Class indices ``y`` of shape (B,) as rows of a (B, num_classes) one-hot matrix."""
    return torch.zeros(len(y), num_classes, dtype=dtype, device=y.device).scatter_(1, y.reshape(-1, 1), 1.0)


def softmax_cross_entropy(O: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of ``softmax(O)`` against class indices ``y``, from the max-shifted logits."""
    shifted = O - O.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs.gather(1, y.reshape(-1, 1)).mean()


def softmax_cross_entropy_backward(O: Tensor, y: Tensor) -> Tensor:
    """Gradient of the mean softmax cross-entropy for the logits: ``(softmax(O) - onehot(y)) / B``."""
    return (softmax(O) - one_hot(y, O.shape[1], O.dtype)) / O.shape[0]


def mse_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient of ``F.mse_loss(O, T)`` (the mean over every entry) for ``O``: ``2 (O - T) / numel(O)``."""
    return 2 * (O - T) / O.numel()


def squared_error_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient for ``O`` of the blog's squared error ``mean_rows sum_k (o_k - t_k)^2``: ``2 (O - T) / B``."""
    return 2 * (O - T) / O.shape[0]


def sigmoid_mse_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient of ``mean_rows 1/2 sum_k (Y - T)^2``, ``Y = sigmoid(O)``: ``(Y - T) Y (1 - Y) / B``."""
    Y = torch.sigmoid(O)
    return (Y - T) * Y * (1 - Y) / O.shape[0]


# each loss and its gradient for the logits, of (logits, labels) for cross-entropy, else of (logits, one-hot)
_LOSSES = {"cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_backward),
           "squared_error": (lambda O, T: ((O - T) ** 2).sum(dim=1).mean(), squared_error_backward),
           "sigmoid_mse": (lambda O, T: 0.5 * ((torch.sigmoid(O) - T) ** 2).sum(dim=1).mean(),
                           sigmoid_mse_backward)}


class _ForwardCache(NamedTuple):
    """What training keeps: each linear layer's input (the activation's output below it) and the logits."""
    inputs: list[Tensor]
    logits: Tensor

    def tensors(self) -> list[Tensor]:
        return [*self.inputs, self.logits]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors())


class ManualMLP:
    """An MLP with gradients by hand: ``params`` ``[W1, b1, ...]``, ``W`` (fan_in, fan_out) from N(0, sigma^2)
    on the CPU under ``seed``, biases 0; ``loss``: "cross_entropy", "squared_error" or "sigmoid_mse"."""
    def __init__(self, layer_sizes: Sequence[int], activation: str = "relu", sigma: float = 0.01,
                 seed: int = 0, lr: float = 0.1, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32, loss: str = "cross_entropy") -> None:
        one_of("activation", activation, _BACKWARDS)
        one_of("loss", loss, _LOSSES)
        self.layer_sizes, self.activation, self.loss_name = list(layer_sizes), activation, loss
        self.sigma, self.lr, self.seed = sigma, lr, int(seed)
        self.device, self.dtype = pick_device(device), dtype
        self._forward, self._backward = ACTIVATIONS[activation](), _BACKWARDS[activation]
        generator = torch.Generator().manual_seed(self.seed)
        self.params = [t.to(self.device, dtype) for n, m in zip(self.layer_sizes, self.layer_sizes[1:])
                       for t in (torch.randn(n, m, generator=generator) * sigma, torch.zeros(m))]

    def __repr__(self) -> str:
        loss = "" if self.loss_name == "cross_entropy" else f", loss={self.loss_name!r}"
        return (f"ManualMLP({self.layer_sizes}, activation={self.activation!r}, sigma={self.sigma}, "
                f"lr={self.lr}{loss}, device={self.device})")

    @property
    def num_layers(self) -> int:
        return len(self.layer_sizes) - 1

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        return [(self.params[2 * i], self.params[2 * i + 1]) for i in range(self.num_layers)]

    def flatten(self, X: Tensor) -> Tensor:
        """Images or rows as rows of the model's dtype on its device."""
        return X.reshape(-1, self.layer_sizes[0]).to(self.device, self.dtype)

    @torch.no_grad()
    def forward_with_cache(self, X: Tensor) -> tuple[Tensor, _ForwardCache]:
        """The forward pass of training: logits and what :meth:`backward` needs."""
        inputs = [self.flatten(X)]
        for W, b in self.layers()[:-1]:
            inputs.append(self._forward(inputs[-1] @ W + b))
        logits = inputs[-1] @ self.params[-2] + self.params[-1]
        return logits, _ForwardCache(inputs, logits)

    @torch.no_grad()
    def forward(self, X: Tensor) -> Tensor:
        """The forward pass of prediction: logits, keeping only the current layer's output."""
        H = self.flatten(X)
        for W, b in self.layers()[:-1]:
            H = self._forward(H @ W + b)
        return H @ self.params[-2] + self.params[-1]

    __call__ = forward

    def predict(self, X: Tensor) -> Tensor:
        return self.forward(X).argmax(dim=1)

    @torch.no_grad()
    def backward(self, cache: _ForwardCache, dO: Tensor) -> list[Tensor]:
        """Walk back from ``dO = dL/dlogits`` to the first layer; gradients in ``params`` order."""
        grads: list[Tensor] = [torch.empty(0)] * len(self.params)
        dZ = dO
        for i in reversed(range(self.num_layers)):
            H = cache.inputs[i]
            dH, grads[2 * i], grads[2 * i + 1] = linear_backward(dZ, H, self.params[2 * i], input_grad=i > 0)
            if dH is not None:  # H is the output of the activation below: its backward needs only H
                dZ = self._backward(dH, H)
        return grads

    def _loss_and_dO(self, logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        target = y if self.loss_name == "cross_entropy" else one_hot(y, logits.shape[1], logits.dtype)
        return tuple(f(logits, target) for f in _LOSSES[self.loss_name])

    @torch.no_grad()
    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        """The model's loss of ``logits`` against ``y`` (a 0-d tensor), as the autograd models' ``loss``."""
        return self._loss_and_dO(logits, y.to(logits.device))[0]

    def loss_and_grads(self, X: Tensor, y: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The model's loss on ``(X, y)`` (a 0-d tensor) and its gradients, by hand."""
        logits, cache = self.forward_with_cache(X)
        loss, dO = self._loss_and_dO(logits, y.to(self.device))
        return loss, self.backward(cache, dO)

    @torch.no_grad()
    def sgd_step(self, grads: Sequence[Tensor]) -> None:
        """One plain SGD step in place: ``p -= lr * grad`` for every parameter."""
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients (one per parameter, in params order), "
                             f"got {len(grads)}")
        for p, g in zip(self.params, grads):
            p.sub_(g, alpha=self.lr)

    def train_step(self, X: Tensor, y: Tensor) -> float:
        """Forward, backward and one SGD step (none if the loss is not finite); returns the loss."""
        loss, grads = self.loss_and_grads(X, y)
        if math.isfinite(loss.item()):
            self.sgd_step(grads)
        return loss.item()

    def parameter_bytes(self) -> int:
        """Bytes held by the parameters (the gradients of a step take as many again)."""
        return sum(p.numel() * p.element_size() for p in self.params)
