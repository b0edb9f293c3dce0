"""Checks and references for the fill-ins of chapters 1, 2, 3, 5 and 6."""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

from .core import AnswerError, answer_check, attempt, cmp

__all__ = ["check_flatten", "check_mlp_net", "check_parameters", "check_sgd_step", "class_means"]

# ---------------------------------------------------------------------------------------------
# Chapters 1, 2, 3, 5 and 6: checks and references for the fill-ins of the main chapters.
# ---------------------------------------------------------------------------------------------


def class_means(X: torch.Tensor, y: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """The mean image of each class as rows: shape (num_classes, features), images flattened.

    Row ``c`` is the mean over every image of ``X`` whose label in ``y`` is ``c``; each image
    is read as one row of ``X[0].numel()`` features. A class without images gives a row of NaN.
    """
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"class_means: X and y must be tensors, got {type(X).__name__} and {type(y).__name__}")
    if X.dim() < 2 or y.dim() != 1 or len(X) != len(y):
        raise ValueError(f"class_means: X must be a batch (n, ...) and y its n labels, got shapes "
                         f"{tuple(X.shape)} and {tuple(y.shape)}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"class_means: num_classes must be an integer >= 1, got {num_classes!r}")
    rows = X.reshape(len(X), -1).to(torch.float32)
    labels = y.to(rows.device)
    sums = torch.zeros(num_classes, rows.shape[1], dtype=rows.dtype, device=rows.device)
    sums.index_add_(0, labels, rows)
    counts = torch.bincount(labels, minlength=num_classes)[:num_classes].to(rows.dtype)
    return sums / counts[:, None]


def _check_sizes(function: str, **sizes: Any) -> None:
    for label, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{function}: {label} must be an integer >= 1, got {n!r}")


@answer_check
def check_parameters(params: Any, num_inputs: int, num_hiddens: int, num_outputs: int,
                     sigma: float) -> None:
    """Check the reader's ``[W1, b1, W2, b2]`` of a one-hidden-layer MLP; print a tick or raise.

    Random weights cannot be compared entry by entry, so this checks what the chapter asks for:
    four tensors in that order, their shapes (naming a transposed weight), ``nn.Parameter``
    with ``requires_grad``, float32, biases exactly zero, and weights whose mean is about 0 and
    whose standard deviation is about ``sigma`` (naming ``sigma**2`` used as the standard
    deviation, a forgotten factor ``sigma``, and ``torch.rand`` in place of ``torch.randn``).
    Raises :class:`AnswerError` saying what is wrong and how to fix it.
    """
    _check_sizes("check_parameters", num_inputs=num_inputs, num_hiddens=num_hiddens, num_outputs=num_outputs)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma < math.inf:
        raise ValueError(f"check_parameters: sigma must be a positive number, got {sigma!r}")
    if callable(params):
        params = attempt("init_params", params, num_inputs, num_hiddens, num_outputs, sigma)
    shapes = {"W1": (num_inputs, num_hiddens), "b1": (num_hiddens,),
              "W2": (num_hiddens, num_outputs), "b2": (num_outputs,)}
    names = list(shapes)
    if params is None:
        raise AnswerError("parameters: your code returned None; did it forget a `return`?")
    if isinstance(params, dict):
        params = list(params.values())
    if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
        raise AnswerError(f"parameters: expected the four tensors [W1, b1, W2, b2], got a "
                          f"{type(params).__name__}.")
    params = list(params)
    if len(params) != 4:
        raise AnswerError(f"parameters: expected four tensors W1, b1, W2, b2 (a weight matrix and a "
                          f"bias vector per layer, in this order), got {len(params)}.")
    for name, p in zip(names, params):
        if not isinstance(p, torch.Tensor):
            raise AnswerError(f"{name}: expected a tensor, got a {type(p).__name__}.")
    got = [tuple(p.shape) for p in params]
    if sorted(got) == sorted(shapes.values()) and got != list(shapes.values()):
        raise AnswerError("parameters: the shapes are right but the order is not: got "
                          f"{got}; return them as [W1, b1, W2, b2] = {list(shapes.values())}.")
    for name, p in zip(names, params):
        want = shapes[name]
        if tuple(p.shape) == want:
            continue
        message = f"{name}: shape {tuple(p.shape)}, expected {want}."
        if len(want) == 2 and tuple(p.shape) == want[::-1]:
            message += (f" That is the transpose: with X of shape (batch, inputs), X @ {name} needs "
                        f"{name} as (inputs, outputs) = {want}. (nn.Linear stores the transpose; "
                        "a hand-written layer does not.)")
        elif len(want) == 1 and p.numel() == want[0]:
            message += f" A bias is a vector of {want[0]} numbers: torch.zeros({want[0]})."
        raise AnswerError(message)
    for name, p in zip(names, params):
        if not isinstance(p, torch.nn.Parameter):
            raise AnswerError(f"{name}: a plain {type(p).__name__}, not an nn.Parameter. Wrap it, "
                              f"nn.Parameter(...), so that autograd tracks it and a module lists it "
                              "in parameters().")
        if not p.requires_grad:
            raise AnswerError(f"{name}: requires_grad is False, so autograd would never compute its "
                              "gradient; leave nn.Parameter's default requires_grad=True.")
        if p.dtype != torch.float32:
            raise AnswerError(f"{name}: dtype {p.dtype}, expected torch.float32 (the dtype of the "
                              "images and PyTorch's default); create it with torch.randn / torch.zeros "
                              "without a dtype, or convert with .float().")
    for name in ("b1", "b2"):
        b = params[names.index(name)].detach()
        if not torch.all(b == 0):
            raise AnswerError(f"{name}: {int((b != 0).sum())} of {b.numel()} entries are not zero; "
                              f"biases start at exactly zero: nn.Parameter(torch.zeros({b.numel()})).")
    for name in ("W1", "W2"):
        w = params[names.index(name)].detach().double()
        if not torch.isfinite(w).all():
            raise AnswerError(f"{name}: contains NaN or infinite entries.")
        n = w.numel()
        mean, std = w.mean().item(), (w.std().item() if n > 1 else 0.0)
        if std == 0:
            raise AnswerError(f"{name}: every entry is {mean:.3g}: all hidden units would compute the "
                              f"same thing forever. Draw the weights at random: torch.randn(...) * {sigma:g}.")
        if bool((w >= 0).all()):
            raise AnswerError(f"{name}: every entry is >= 0 (mean {mean:.3g}, standard deviation {std:.3g}): "
                              "that is torch.rand, uniform on [0, 1), instead of torch.randn, the "
                              "standard normal distribution. Use torch.randn(...) * sigma.")
        tolerance = 0.1 + 5 / math.sqrt(2 * n)  # a sample std of n normal draws is within ~1/sqrt(2n)
        if abs(std / sigma - 1) > tolerance:
            message = (f"{name}: standard deviation {std:.3g}, expected sigma = {sigma:g} "
                       f"(N(0, sigma^2) has standard deviation sigma).")
            if sigma != 1 and abs(std / sigma**2 - 1) < tolerance:
                message += (f" You used sigma^2 = {sigma**2:g} as the standard deviation: multiply "
                            f"torch.randn(...) by sigma, not by sigma**2.")
            elif sigma != 1 and abs(std - 1) < tolerance:
                message += f" Did you forget to multiply torch.randn(...) by sigma = {sigma:g}?"
            elif sigma != 1 and abs(std / math.sqrt(sigma) - 1) < tolerance:
                message += " You used sqrt(sigma) as the standard deviation: multiply by sigma."
            raise AnswerError(message)
        if abs(mean) > 5 * sigma / math.sqrt(n) + 0.05 * sigma:
            raise AnswerError(f"{name}: mean {mean:.3g}, expected about 0: the weights are drawn from "
                              "N(0, sigma^2), centred at zero (torch.randn(...) * sigma, nothing added).")
    total = sum(p.numel() for p in params)
    print(f"✓ parameters: W1 {shapes['W1']}, b1 {shapes['b1']}, W2 {shapes['W2']}, b2 {shapes['b2']} "
          f"({total:,} numbers), nn.Parameter, float32, biases zero, weight std about {sigma:g}")


@answer_check
def check_sgd_step(sgd_step: Callable[..., Any], lr: float = 0.1, seed: int = 0) -> None:
    """Check the reader's ``sgd_step(params, lr)`` against ``torch.optim.SGD``; print a tick or raise.

    Builds four small parameters with known gradients, applies the reader's step to them and
    PyTorch's SGD (followed by ``zero_grad``) to clones, and compares the updated values and
    the gradients left behind. Names the usual mistakes: a forgotten ``zero_grad``, a step in
    the wrong direction, a forgotten learning rate, an update that does not happen in place,
    gradients zeroed before they are used, and an in-place update outside ``torch.no_grad()``.
    """
    if not callable(sgd_step):
        raise TypeError(f"check_sgd_step: pass your function itself, got a {type(sgd_step).__name__}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise ValueError(f"check_sgd_step: lr must be a number between 0 and 1 (exclusive), got {lr!r}")
    _check_sgd_once(sgd_step, lr, seed)
    other = round(lr * 0.37, 6)  # a second rate: a hard-coded 0.1 is right only at 0.1
    try:
        _check_sgd_once(sgd_step, other, seed + 1)
    except AnswerError as error:
        raise AnswerError(f"sgd_step: right at lr={lr:g} but not at lr={other:g}: use the lr argument "
                          f"(p -= lr * p.grad), not a fixed number. What differed: {error}") from None
    print(f"✓ sgd_step: same parameters as torch.optim.SGD at lr={lr:g} and lr={other:g}, and the "
          "gradients are zeroed")


def _check_sgd_once(sgd_step: Callable[..., Any], lr: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    shapes = [(6, 4), (4,), (4, 3), (3,)]
    start = [torch.randn(s, generator=generator) for s in shapes]
    grads = [torch.randn(s, generator=generator) for s in shapes]
    yours = [torch.nn.Parameter(t.clone()) for t in start]
    reference = [torch.nn.Parameter(t.clone()) for t in start]
    for p, q, g in zip(yours, reference, grads):
        p.grad, q.grad = g.clone(), g.clone()
    optimizer = torch.optim.SGD(reference, lr=lr)
    optimizer.step()
    optimizer.zero_grad()
    try:
        attempt("sgd_step", sgd_step, yours, lr, copy=False)
    except RuntimeError as error:
        if "in-place" in str(error) or "leaf Variable" in str(error):
            raise AnswerError("sgd_step: PyTorch refused to change a parameter in place because autograd "
                              "records operations on it. Do the update inside `with torch.no_grad():`."
                              ) from error
        raise

    def close(a: torch.Tensor, b: torch.Tensor) -> bool:
        return torch.allclose(a, b, atol=1e-6, rtol=1e-5)

    for number, (p, q, s, g) in enumerate(zip(yours, reference, start, grads)):
        name = f"parameter {number}"
        value = p.detach()
        step = value - s
        zeroed = p.grad is None or not p.grad.any()
        if torch.equal(value, s):
            raise AnswerError(
                f"sgd_step: {name} did not change. " + (
                    "Its gradient is zero now: did you zero the gradients before using them? Update "
                    "first, then zero." if zeroed else
                    "`p = p - lr * p.grad` only gives the loop variable a new tensor; change the "
                    "parameter itself in place, p -= lr * p.grad (inside torch.no_grad())."))
        if not close(value, q.detach()):
            if close(step, lr * g):
                raise AnswerError("sgd_step: you subtracted the gradient with the wrong sign: the step went "
                                  "uphill. Gradient descent moves against the gradient: p -= lr * p.grad.")
            if close(step, -g):
                raise AnswerError(f"sgd_step: the step is the whole gradient: you forgot the learning rate "
                                  f"lr = {lr:g}. Use p -= lr * p.grad.")
            if close(step, g):
                raise AnswerError("sgd_step: you added the whole gradient: wrong sign and no learning rate. "
                                  "Use p -= lr * p.grad.")
            cmp(f"sgd_step: the change of {name}", step, q.detach() - s, atol=1e-6, rtol=1e-5)
        if not zeroed:
            raise AnswerError(f"sgd_step: the update is right, but {name} still holds its gradient: you "
                              "forgot zero_grad. backward() adds to .grad, so the next step would use the "
                              "sum of this gradient and the next. After the update, p.grad.zero_() "
                              "(or p.grad = None).")


@answer_check
def check_flatten(flatten: Callable[[torch.Tensor], Any], X: torch.Tensor) -> None:
    """Check the reader's ``flatten(X)`` on ``X`` and on batches of other sizes.

    An epoch's last batch is smaller (60,000 = 234 x 256 + 96), so a size typed into the code,
    ``X.reshape(256, 784)``, must fail here: the check also tries the last 96 images of ``X``
    and a single image, each against ``torch.flatten(X, start_dim=1)``.
    """
    fixed_size = ("The last batch of an epoch is smaller than the others: take the batch size from "
                  "X.shape[0] (or write -1 for the other dimension), not a fixed number.")
    batches = (X, X[-96:], X[:1])
    for batch in batches:
        expected = torch.flatten(batch, start_dim=1)
        try:
            yours = attempt("flatten", flatten, batch)
        except RuntimeError as error:
            if batch is X:
                raise
            raise AnswerError(f"flatten: a batch of {len(batch)} images fails: {error}. {fixed_size}") from None
        if isinstance(yours, torch.Tensor) and torch.equal(yours, expected):
            continue
        if isinstance(yours, torch.Tensor) and batch is not X and yours.numel() != expected.numel():
            raise AnswerError(f"flatten: a batch of {len(batch)} images gives shape {tuple(yours.shape)}, "
                              f"expected {tuple(expected.shape)}. {fixed_size}")
        cmp(f"flatten on a batch of {len(batch)}", yours, expected, exact=True)  # raises, saying how
    print("✓ flatten: matches torch.flatten(X, start_dim=1) exactly on batches of "
          + ", ".join(str(len(b)) for b in batches))


@answer_check
def check_mlp_net(net: Any, X: torch.Tensor, num_hiddens: int = 256, num_outputs: int = 10) -> None:
    """Check the reader's concise one-hidden-layer MLP on the batch ``X``; print a tick or raise.

    Runs ``net`` on ``X`` (a dry run that creates lazy parameters) and checks the output shape
    (batch, num_outputs), the parameter count against
    ``nn.Sequential(nn.Flatten(), nn.LazyLinear(num_hiddens), nn.ReLU(), nn.LazyLinear(num_outputs))``,
    that the last layer is linear (no activation or softmax after it), and that the network is
    not linear as a whole (a missing activation). Names a missing ``nn.Flatten``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() < 2 or len(X) < 2:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"check_mlp_net: X must be a batch of at least 2 images, got {shape}")
    _check_sizes("check_mlp_net", num_hiddens=num_hiddens, num_outputs=num_outputs)
    if callable(net) and not isinstance(net, torch.nn.Module):
        net = attempt("build_net", net, num_hiddens, num_outputs)
    if net is None:
        raise AnswerError("net: your code returned None; did it forget a `return`?")
    if not isinstance(net, torch.nn.Module):
        raise AnswerError(f"net: expected an nn.Module such as nn.Sequential(...), got a {type(net).__name__}.")
    net = net.to(X.device).eval()  # the batch may live on a GPU; eval: a Dropout is then what it is
    # at prediction time, the identity, and cannot pass for an activation
    modules = [m for m in net.modules() if not list(m.children())]
    no_flatten = "" if any(isinstance(m, torch.nn.Flatten) for m in modules) else (
        f" Your network has no nn.Flatten(): the linear layers were applied to each row of {X.shape[-1]} "
        "pixels instead of to the whole image. Start the sequence with nn.Flatten().")
    try:
        with torch.no_grad():
            out = net(X)
    except RuntimeError as error:
        raise AnswerError(f"net: running it on a batch of shape {tuple(X.shape)} failed: {error}."
                          + no_flatten) from error
    want = (len(X), num_outputs)
    if not isinstance(out, torch.Tensor):
        raise AnswerError(f"net: it returned a {type(out).__name__}, expected logits of shape {want}.")
    if tuple(out.shape) != want:
        message = f"net: output shape {tuple(out.shape)}, expected {want} (one row of logits per image)."
        if no_flatten:
            message += no_flatten
        elif tuple(out.shape) == (len(X), num_hiddens):
            message += f" The output layer is missing: end with nn.LazyLinear({num_outputs})."
        raise AnswerError(message)
    reference = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_hiddens), torch.nn.ReLU(),
                                    torch.nn.LazyLinear(num_outputs)).to(X.device)
    with torch.no_grad():
        reference(X[:1])
    expected_count = sum(p.numel() for p in reference.parameters())
    count = sum(p.numel() for p in net.parameters())
    if count != expected_count:
        widths = [m.out_features for m in modules if isinstance(m, torch.nn.Linear)]
        raise AnswerError(f"net: {count:,} parameters, expected {expected_count:,} (two fully connected "
                          f"layers, {X[0].numel()} -> {num_hiddens} -> {num_outputs}, each with a bias); "
                          f"your linear layers have output widths {widths}.")
    last = modules[-1] if modules else None
    if last is not None and not isinstance(last, torch.nn.Linear):
        kind = type(last).__name__
        extra = (" cross_entropy applies the softmax itself, so the model returns logits." if "Softmax" in kind
                 else " Logits can be any real number; the activation belongs between the two layers.")
        raise AnswerError(f"net: the last layer is {kind}, so the outputs are not a linear layer's logits."
                          + extra)
    activations = [m for m in modules if not isinstance(m, (torch.nn.Linear, torch.nn.Flatten, torch.nn.Dropout,
                                                            torch.nn.Identity))]
    if activations and not all(isinstance(m, torch.nn.ReLU) for m in activations):
        kinds = sorted({type(m).__name__ for m in activations})
        raise AnswerError(f"net: the activation is {', '.join(kinds)}; this chapter's network uses "
                          "nn.ReLU() between its two layers (other activations are exercise 8's topic).")
    with torch.no_grad():
        f0, f1, f2 = net(torch.zeros_like(X)), net(X), net(2 * X)
    if torch.allclose(f2, 2 * f1 - f0, atol=1e-5, rtol=1e-4):
        raise AnswerError("net: your network is linear: doubling the input changes the output exactly as "
                          "an affine map would (f(2x) = 2 f(x) - f(0)). Two linear layers in a row are one "
                          "linear layer; put an activation, nn.ReLU(), between them.")
    print(f"✓ net: output shape {want}, {count:,} parameters as in the reference, and not linear")


# ----------------------------------------------------------------------------------------------
# Chapter 9 (memory): the bytes the forward pass of training keeps
# ----------------------------------------------------------------------------------------------

def reference_cache_bytes(sizes: Sequence[int], batch_size: int) -> int:
    """Bytes of float32 activations a training step keeps for an MLP of layer ``sizes``: every
    linear layer's input (batch_size x its width) and the logits, as ``ManualMLP``'s cache."""
    from ..backprop import ManualMLP

    net = ManualMLP(list(sizes), device="meta")
    _, cache = net.forward_with_cache(torch.empty(batch_size, sizes[0], device="meta"))
    return int(cache.nbytes())


CACHE_CASES = (([784, 256, 10], 256), ([784, 256, 256, 10], 64), ([784, 1024, 512, 128, 10], 100),
               ([20, 3, 2], 7))


@answer_check
def check_cache_bytes(yours: Callable[..., Any]) -> None:
    """Check the reader's ``cache_bytes(sizes, batch_size)`` on several networks and batches,
    naming the usual slips: 4 bytes per float32 forgotten, the logits or the input left out,
    the pre-activations counted as well, the weights counted instead."""
    if not callable(yours):
        raise AnswerError(f"check_cache_bytes: pass your function itself, got a {type(yours).__name__}")
    expected = torch.tensor([float(reference_cache_bytes(s, b)) for s, b in CACHE_CASES], dtype=torch.float64)
    got = []
    for sizes, batch in CACHE_CASES:
        value = attempt("cache_bytes", yours, list(sizes), batch)
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise AnswerError(f"cache_bytes({sizes}, {batch}) returned {value!r}; return a number of bytes")
        got.append(float(value))
    got_t = torch.tensor(got, dtype=torch.float64)

    def floats(sizes: Sequence[int], b: int, inputs: bool = True, logits: bool = True, pre: bool = False) -> float:
        n = sum(b * w for w in (sizes[:-1] if inputs else sizes[1:-1]))
        n += b * sizes[-1] if logits else 0
        n += sum(b * w for w in sizes[1:-1]) if pre else 0
        return 4.0 * n
    mistakes = {
        "you counted numbers, not bytes: each float32 takes 4 bytes.":
            [floats(s, b) / 4 for s, b in CACHE_CASES],
        "you left out the logits: the softmax's gradient needs them, B x 10 floats more.":
            [floats(s, b, logits=False) for s, b in CACHE_CASES],
        "you left out the input X: the first layer's weight gradient X^T dZ needs it.":
            [floats(s, b, inputs=False) for s, b in CACHE_CASES],
        "you also counted the pre-activations Z: a ReLU's derivative can be read from its output "
        "H, which is kept anyway as the next layer's input.":
            [floats(s, b, pre=True) for s, b in CACHE_CASES],
        "you counted the weights and biases; the cache holds activations, which grow with the batch.":
            [4.0 * sum((a + 1) * c for a, c in zip(s[:-1], s[1:])) for s, b in CACHE_CASES],
    }
    for message, values in mistakes.items():
        if torch.allclose(got_t, torch.tensor(values, dtype=torch.float64)):
            raise AnswerError(f"cache_bytes: {message}")
    cmp("cache_bytes", got_t, expected, exact=True)


__all__ += ["check_cache_bytes", "reference_cache_bytes"]
