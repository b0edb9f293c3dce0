"""Backpropagation written out by hand: an MLP of any depth trained without autograd.

Every local gradient of the course's MLP is a small function here, so a notebook can show it,
test it against autograd and put the pieces together:

* :func:`linear_backward` for ``Z = H W + b``,
* :func:`relu_backward`, :func:`sigmoid_backward`, :func:`tanh_backward` for the activations,
  each computed from the activation's *output*, the tensor the forward pass keeps anyway,
* :func:`softmax_cross_entropy_backward` for the loss of classification,
  :func:`mse_backward` for the mean squared error of linear outputs (as ``F.mse_loss``),
  :func:`squared_error_backward` for the squared error summed over linear outputs (the loss of
  the pure-Python blog that chapter 4 follows) and :func:`sigmoid_mse_backward` for the squared
  error of sigmoid outputs (a classic textbook variant).

:class:`ManualMLP` chains them: :meth:`~ManualMLP.forward_with_cache` keeps the input of every
linear layer, :meth:`~ManualMLP.backward` walks back from the loss to the first layer with the
chain rule, and :meth:`~ManualMLP.sgd_step` updates the parameters. No tensor here ever has
``requires_grad``; everything runs under ``torch.no_grad()``. :meth:`~ManualMLP.train_step` is
one step of all three, which is all :class:`~mlp_utils.trainer.Trainer` needs to train it
(chapter 4 writes its plain loop out in the notebook).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .validate import one_of, positive_float, positive_int
from .device import pick_device
from .models import ACTIVATIONS

__all__ = [
    "LOSSES",
    "ManualMLP",
    "fit_by_hand",
    "linear_backward",
    "log_softmax",
    "mse_backward",
    "mse_loss",
    "one_hot",
    "relu_backward",
    "sigmoid_backward",
    "sigmoid_mse_backward",
    "sigmoid_mse_loss",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "squared_error_backward",
    "squared_error_loss",
    "tanh_backward",
]

Tensor = torch.Tensor


# ----------------------------------------------------------------------------------------------
# Local forward and backward functions
# ----------------------------------------------------------------------------------------------

def linear_forward(H: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """The fully connected layer ``Z = H W + b`` for a batch ``H`` of shape (B, fan_in)."""
    return H @ W + b


def linear_backward(dZ: Tensor, H: Tensor, W: Tensor, input_grad: bool = True
                    ) -> tuple[Tensor | None, Tensor, Tensor]:
    """Gradients of a linear layer ``Z = H W + b`` given ``dZ = dL/dZ``.

    Returns ``(dH, dW, db)``: ``dH = dZ W^T`` (passed on to the layer below),
    ``dW = H^T dZ`` (summed over the batch by the matrix product) and ``db = sum_rows dZ``.
    The layer's input ``H`` is why the forward pass must keep it. With ``input_grad=False``
    (the first layer, whose input is the data) ``dH`` is not computed and ``None`` is returned:
    nothing needs the gradient with respect to the images, and it costs a full matrix product.
    """
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


BACKWARDS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "relu": relu_backward,
    "sigmoid": sigmoid_backward,
    "tanh": tanh_backward,
}
"""The backward ``(dY, Y) -> dZ`` of each activation written by hand, keyed like
:data:`mlp_utils.models.ACTIVATIONS` (whose modules give the forward)."""

LOSSES = ("cross_entropy", "squared_error", "sigmoid_mse")
"""The losses :class:`ManualMLP` can train with: softmax cross-entropy of the logits, the squared
error of the logits themselves (linear outputs) against one-hot targets, summed over the outputs
(:func:`squared_error_loss`), or the squared error of sigmoid outputs (:func:`sigmoid_mse_loss`)."""


def log_softmax(O: Tensor) -> Tensor:
    """Row-wise ``log softmax(O)``, stable for large logits: ``O - max - log sum exp(O - max)``."""
    shifted = O - O.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()


def softmax(O: Tensor) -> Tensor:
    """Row-wise softmax, computed from the max-shifted logits so ``exp`` never overflows."""
    exps = (O - O.max(dim=1, keepdim=True).values).exp()
    return exps / exps.sum(dim=1, keepdim=True)


def one_hot(y: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Class indices ``y`` of shape (B,) as rows of a (B, num_classes) one-hot matrix."""
    out = torch.zeros(len(y), num_classes, dtype=dtype, device=y.device)
    return out.scatter_(1, y.reshape(-1, 1), 1.0)


def softmax_cross_entropy(O: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy of ``softmax(O)`` against class indices ``y`` (a 0-d tensor)."""
    return -log_softmax(O).gather(1, y.reshape(-1, 1)).mean()


def softmax_cross_entropy_backward(O: Tensor, y: Tensor) -> Tensor:
    """Gradient of the mean softmax cross-entropy with respect to the logits ``O``.

    ``dL/dO = (softmax(O) - onehot(y)) / B``: the predicted probabilities minus the truth,
    divided by the batch size because the loss is a mean over the batch.
    """
    return (softmax(O) - one_hot(y, O.shape[1], O.dtype)) / O.shape[0]


def mse_loss(O: Tensor, T: Tensor) -> Tensor:
    """Mean squared error over every entry, like ``F.mse_loss``: ``mean((O - T)^2)``."""
    return ((O - T) ** 2).mean()


def mse_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient of :func:`mse_loss` with respect to ``O``: ``2 (O - T) / numel(O)``."""
    return 2 * (O - T) / O.numel()


def squared_error_loss(O: Tensor, T: Tensor) -> Tensor:
    """Squared error of linear outputs, summed over the outputs, averaged over the batch.

    ``mean over rows of sum_k (o_k - t_k)^2``: the logits ``O`` themselves are the prediction
    (no sigmoid, no softmax), compared with the one-hot target ``T``. This is the loss of the
    pure-Python blog of chapter 4, ``L = sum (y_hat - y)^2`` over a minibatch of ``m`` examples,
    with gradient ``2/m (y_hat - y)`` (:func:`squared_error_backward`).
    """
    return ((O - T) ** 2).sum(dim=1).mean()


def squared_error_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient of :func:`squared_error_loss` with respect to ``O``: ``2 (O - T) / B``."""
    return 2 * (O - T) / O.shape[0]


def sigmoid_mse_loss(O: Tensor, T: Tensor) -> Tensor:
    """Squared error of sigmoid outputs: ``mean over rows of 1/2 sum_k (sigmoid(o_k) - t_k)^2``.

    The loss of the classic hand-derived networks: the output layer squashes each logit with a
    sigmoid and compares it with the one-hot target ``T``; the 1/2 cancels the square's 2.
    """
    return 0.5 * ((torch.sigmoid(O) - T) ** 2).sum(dim=1).mean()


def sigmoid_mse_backward(O: Tensor, T: Tensor) -> Tensor:
    """Gradient of :func:`sigmoid_mse_loss` with respect to the logits ``O``.

    ``(Y - T) * Y * (1 - Y) / B`` with ``Y = sigmoid(O)``: the error times the sigmoid's slope,
    which vanishes when an output saturates near 0 or 1, right or wrong.
    """
    Y = torch.sigmoid(O)
    return (Y - T) * Y * (1 - Y) / O.shape[0]


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------

@dataclass
class ForwardCache:
    """What a training forward pass keeps for the backward pass.

    ``inputs[l]`` is the input of linear layer ``l``: the flattened images for the first layer,
    then each hidden activation's output (which is also what the activation's backward needs,
    so one tensor serves both). ``logits`` feed the softmax in the loss's backward.
    """

    inputs: list[Tensor]
    logits: Tensor

    def tensors(self) -> list[Tensor]:
        """Every saved tensor, input side first."""
        return [*self.inputs, self.logits]

    def nbytes(self) -> int:
        """Bytes held by the saved tensors."""
        return sum(t.numel() * t.element_size() for t in self.tensors())


class ManualMLP:
    """A multilayer perceptron whose gradients are computed by hand, not by autograd.

    Args:
        layer_sizes: widths from input to output, e.g. ``[784, 256, 10]`` (one hidden layer)
            or ``[784, 256, 128, 10]``; at least two, each >= 1.
        activation: the hidden layers' activation, a name in :data:`BACKWARDS`.
        sigma: weights are drawn from N(0, sigma^2); biases start at zero.
        seed: seeds the ``torch.Generator`` the weights are drawn from (on the CPU, so the
            initialization is the same on every device).
        lr: the SGD learning rate of :meth:`sgd_step`.
        device: where the parameters live; ``None`` picks CUDA, then MPS, then the CPU.
        dtype: the parameters' floating-point type (float64 for gradient checks).
        loss: ``"cross_entropy"`` (softmax cross-entropy of the logits, the default),
            ``"squared_error"`` (linear outputs, squared error to the one-hot labels summed over
            the outputs) or ``"sigmoid_mse"`` (a sigmoid on every output, half the squared error).

    ``params`` is the list ``[W1, b1, W2, b2, ...]`` with ``W`` of shape (fan_in, fan_out).
    """

    def __init__(self, layer_sizes: Sequence[int], activation: str = "relu", sigma: float = 0.01,
                 seed: int = 0, lr: float = 0.1, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32, loss: str = "cross_entropy") -> None:
        self._check(layer_sizes, activation, sigma, lr)
        one_of("loss", loss, LOSSES)
        self.layer_sizes, self.activation, self.loss_name = list(layer_sizes), activation, loss
        self.sigma, self.lr, self.seed = sigma, lr, int(seed)
        self.device, self.dtype = pick_device(device), dtype
        self._forward, self._backward = ACTIVATIONS[activation](), BACKWARDS[activation]
        self.params = self._init_params()

    @staticmethod
    def _check(layer_sizes, activation, sigma, lr) -> None:
        if len(layer_sizes) < 2:
            raise ValueError(f"layer_sizes needs at least 2 sizes (inputs and outputs), got {layer_sizes!r}")
        for size in layer_sizes:
            positive_int("layer_sizes[i]", size)
        one_of("activation", activation, BACKWARDS)
        positive_float("sigma", sigma)
        positive_float("lr", lr)

    def _init_params(self) -> list[Tensor]:
        generator = torch.Generator().manual_seed(self.seed)
        params: list[Tensor] = []
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            W = torch.randn(fan_in, fan_out, generator=generator) * self.sigma
            params.append(W.to(self.device, self.dtype))
            params.append(torch.zeros(fan_out, device=self.device, dtype=self.dtype))
        return params

    def __repr__(self) -> str:
        loss = "" if self.loss_name == "cross_entropy" else f", loss={self.loss_name!r}"
        return (f"ManualMLP({self.layer_sizes}, activation={self.activation!r}, sigma={self.sigma}, "
                f"lr={self.lr}{loss}, device={self.device})")

    def cpu(self) -> "ManualMLP":
        """A copy of this model on the CPU: the same settings, the parameters copied (to time it there)."""
        copy = ManualMLP(self.layer_sizes, self.activation, self.sigma, self.seed, self.lr, device="cpu",
                         dtype=self.dtype, loss=self.loss_name)
        copy.params = [p.detach().cpu().clone() for p in self.params]
        return copy

    @property
    def num_layers(self) -> int:
        """The number of linear layers (hidden layers + 1)."""
        return len(self.layer_sizes) - 1

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        """The ``(W, b)`` pair of every linear layer, input side first."""
        return [(self.params[2 * i], self.params[2 * i + 1]) for i in range(self.num_layers)]

    def flatten(self, X: Tensor) -> Tensor:
        """Images (B, 1, 28, 28) or rows (B, 784) as rows of the model's dtype on its device."""
        return X.reshape(-1, self.layer_sizes[0]).to(self.device, self.dtype)

    # --- forward ------------------------------------------------------------------------------

    @torch.no_grad()
    def forward_with_cache(self, X: Tensor) -> tuple[Tensor, ForwardCache]:
        """The forward pass of training: logits and the :class:`ForwardCache` for :meth:`backward`."""
        H = self.flatten(X)
        inputs = [H]
        for i, (W, b) in enumerate(self.layers()):
            Z = linear_forward(H, W, b)
            if i == self.num_layers - 1:
                return Z, ForwardCache(inputs, Z)
            H = self._forward(Z)
            inputs.append(H)
        raise AssertionError("unreachable: there is at least one layer")

    @torch.no_grad()
    def forward(self, X: Tensor) -> Tensor:
        """The forward pass of prediction: logits, keeping only the current layer's output."""
        H = self.flatten(X)
        for i, (W, b) in enumerate(self.layers()):
            H = linear_forward(H, W, b)
            if i < self.num_layers - 1:
                H = self._forward(H)
        return H

    __call__ = forward

    @torch.no_grad()
    def predict(self, X: Tensor) -> Tensor:
        """Predicted class indices for a batch of images."""
        return self.forward(X).argmax(dim=1)

    # --- backward -----------------------------------------------------------------------------

    @torch.no_grad()
    def backward(self, cache: ForwardCache, dO: Tensor) -> list[Tensor]:
        """Walk back from ``dO = dL/dlogits`` to the first layer; gradients in ``params`` order."""
        grads: list[Tensor] = [torch.empty(0)] * len(self.params)
        layers = self.layers()
        dZ = dO
        for i in reversed(range(self.num_layers)):
            W, _ = layers[i]
            H = cache.inputs[i]
            dH, dW, db = linear_backward(dZ, H, W, input_grad=i > 0)
            grads[2 * i], grads[2 * i + 1] = dW, db
            if dH is not None:  # H is the output of the activation below: its backward needs only H
                dZ = self._backward(dH, H)
        return grads

    def _loss_and_dO(self, logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if self.loss_name == "squared_error":
            T = one_hot(y, logits.shape[1], logits.dtype)
            return squared_error_loss(logits, T), squared_error_backward(logits, T)
        if self.loss_name == "sigmoid_mse":
            T = one_hot(y, logits.shape[1], logits.dtype)
            return sigmoid_mse_loss(logits, T), sigmoid_mse_backward(logits, T)
        return softmax_cross_entropy(logits, y), softmax_cross_entropy_backward(logits, y)

    @torch.no_grad()
    def loss(self, logits: Tensor, y: Tensor) -> Tensor:
        """The model's loss (``loss`` in the class's arguments) of ``logits`` against ``y``, a 0-d tensor.

        Same signature as the course's autograd models' ``loss``: ``model.loss(model(X), y)``.
        """
        return self._loss_and_dO(logits, y.to(logits.device))[0]

    @torch.no_grad()
    def loss_and_grads(self, X: Tensor, y: Tensor) -> tuple[Tensor, list[Tensor]]:
        """The model's loss on ``(X, y)`` (a 0-d tensor) and its gradients, by hand."""
        y = y.to(self.device)
        logits, cache = self.forward_with_cache(X)
        loss, dO = self._loss_and_dO(logits, y)
        return loss, self.backward(cache, dO)

    # --- updates ------------------------------------------------------------------------------

    @torch.no_grad()
    def sgd_step(self, grads: Sequence[Tensor]) -> None:
        """One plain SGD step in place: ``p -= lr * grad`` for every parameter."""
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients, got {len(grads)}")
        for p, g in zip(self.params, grads):
            p.sub_(g, alpha=self.lr)

    def train_step(self, X: Tensor, y: Tensor) -> float:
        """Forward, backward and one SGD step on a batch; returns the batch's loss.

        A step whose loss is not finite changes nothing (the trainer then stops).
        """
        loss, grads = self.loss_and_grads(X, y)
        if math.isfinite(loss.item()):
            self.sgd_step(grads)
        return loss.item()

    def parameter_bytes(self) -> int:
        """Bytes held by the parameters (the gradients of a step take as many again)."""
        return sum(p.numel() * p.element_size() for p in self.params)
