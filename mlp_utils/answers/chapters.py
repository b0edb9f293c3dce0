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


# ----------------------------------------------------------------------------------------------
# Chapter 5: the training loop, checked against Trainer.fit
# ----------------------------------------------------------------------------------------------

class LoopData:
    """A small data module with the methods of :class:`~mlp_utils.FashionMNIST` that a training
    loop uses: ``train_dataloader(epoch)`` (each epoch its own shuffle, fixed by ``(seed, epoch)``
    exactly as FashionMNIST's), ``test_dataloader()`` in order, and ``eval_split = "test"``.

    Its "images" are ``shape``-sized tensors of numbers in [0, 1) labelled by a random linear rule
    with noise, so a small MLP learns them a little more with every epoch. With the defaults an
    epoch is 4 minibatches, the last one smaller (200 = 3 x 64 + 8), as an epoch of Fashion-MNIST
    ends with a smaller batch.
    """

    eval_split = "test"

    def __init__(self, num_train: int = 200, num_test: int = 120, batch_size: int = 64, seed: int = 0,
                 num_classes: int = 3, shape: tuple[int, ...] = (1, 4, 5)) -> None:
        generator = torch.Generator().manual_seed(8191 + seed)
        num_inputs = math.prod(shape)
        teacher = torch.randn(num_inputs, num_classes, generator=generator)

        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            X = torch.rand(n, *shape, generator=generator)
            noise = 0.5 * torch.randn(n, num_classes, generator=generator)
            return X, ((X.reshape(n, -1) - 0.5) @ teacher + noise).argmax(dim=1)

        self.X_train, self.y_train = draw(num_train)
        self.X_test, self.y_test = draw(num_test)
        self.batch_size, self.seed = batch_size, seed
        self.num_inputs, self.num_classes = num_inputs, num_classes

    def train_dataloader(self, epoch: int = 0):
        """Shuffled training batches; the order for ``epoch`` is fixed by ``(seed, epoch)``."""
        from ..data import InMemoryData

        return InMemoryData.train_dataloader(self, epoch)  # type: ignore[arg-type]

    def test_dataloader(self):
        """Test batches, in order."""
        from ..data import TensorBatches

        return TensorBatches(self.X_test, self.y_test, self.batch_size)

    def eval_dataloader(self):
        """What the trainer measures after every epoch: the test batches."""
        return self.test_dataloader()

    def __repr__(self) -> str:
        return (f"LoopData(train={len(self.X_train)}, test={len(self.X_test)}, batch_size={self.batch_size}, "
                f"inputs={self.num_inputs}, classes={self.num_classes})")


LOOP_EPOCHS, LOOP_LR, LOOP_SEED = 3, 0.2, 11


def _loop_model(seed: int, data: LoopData, lr: float = LOOP_LR):
    """The model both loops start from: an MLPScratch drawn from ``seed``, without touching the
    caller's random numbers."""
    from ..models import MLPScratch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLPScratch(num_inputs=data.num_inputs, num_outputs=data.num_classes, num_hiddens=8, lr=lr,
                          sigma=0.5)


def _variant(data: LoopData, epochs: Sequence[int], lr: float, *, zero: bool = True, on_test: bool = False,
             reduction: str = "mean") -> list[torch.Tensor]:
    """The parameters a loop with a known mistake ends with (``epochs``: the epoch numbers it asks
    ``train_dataloader`` for)."""
    model = _loop_model(LOOP_SEED, data)
    params = list(model.parameters())
    for epoch in epochs:
        for X, y in (data.test_dataloader() if on_test else data.train_dataloader(epoch)):
            loss = torch.nn.functional.cross_entropy(model(X), y, reduction=reduction)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    if zero:
                        p.grad = None
    return [p.detach() for p in params]


def _known_loop_mistakes(data: LoopData, epochs: int, lr: float) -> dict[str, list[torch.Tensor]]:
    """What the usual mistakes end with, each named with its fix."""
    right = list(range(1, epochs + 1))
    return {
        "the gradients were never reset: backward() adds to .grad, so every step used the sum of all "
        "the gradients so far. Zero them once per step, after the update (your sgd_step does it) or "
        "before loss.backward().": _variant(data, right, lr, zero=False),
        f"you trained for one epoch only; loop over the epochs, for epoch in range(1, num_epochs + 1), "
        f"with the minibatch loop inside (the check asked for {epochs}).": _variant(data, [1], lr),
        f"you trained for {epochs - 1} epochs, not {epochs}: range(1, num_epochs) stops before num_epochs. "
        "Use range(1, num_epochs + 1).": _variant(data, right[:-1], lr),
        "your epochs are numbered from 0: data.train_dataloader(epoch) shuffles each epoch by its number, "
        "and Trainer.fit numbers them 1, 2, ..., num_epochs. Use for epoch in range(1, num_epochs + 1) "
        "and data.train_dataloader(epoch).": _variant(data, range(epochs), lr),
        "every epoch saw the minibatches in the same order: ask for each epoch's own shuffle, "
        "data.train_dataloader(epoch), inside the epoch loop.": _variant(data, [0] * epochs, lr),
        "every epoch saw the minibatches of epoch 1, in the same order: ask for each epoch's own "
        "shuffle, data.train_dataloader(epoch), inside the epoch loop.": _variant(data, [1] * epochs, lr),
        "you trained on the test batches. The test set only measures the model; the steps use "
        "data.train_dataloader(epoch).": _variant(data, right, lr, on_test=True),
        "your loss is the sum over the minibatch, not the mean, so every step was batch-size times too "
        "large: use the mean cross-entropy, model.loss(model(X), y) (F.cross_entropy's default).":
            _variant(data, right, lr, reduction="sum"),
        f"you stepped with a learning rate of 0.1 where the model's is {lr:g}: use model.lr.":
            _variant(data, right, 0.1),
    }


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=1e-5, rtol=1e-4))


@answer_check
def check_training_loop(train: Callable[..., Any]) -> None:
    """Check the reader's ``train(model, data, num_epochs)`` against :meth:`Trainer.fit`.

    Both loops start from one ``MLPScratch`` drawn from the same seed and run a few epochs of
    minibatch SGD at the model's learning rate on a small :class:`LoopData`. The reader's must
    end with the same parameters as ``Trainer.fit`` (to float32 rounding: ``torch.optim.SGD``
    may round ``p - lr * grad`` once where ``p -= lr * p.grad`` rounds twice) and return the test
    accuracy measured after each epoch, the same as ``fit``'s history. A forward hook records how
    the model was run: the steps in training mode, the test batches in evaluation mode and
    without autograd (``torch.no_grad()``). The model arrives in evaluation mode, as ``fit``
    leaves a model. Names the usual mistakes: gradients never reset, a step before
    ``backward()``, one epoch or one too few, epochs numbered from 0 or the same order every
    epoch, the test set used for training, a summed loss, a fixed learning rate, no training or
    evaluation mode, an evaluation recorded by autograd, an evaluation before the epoch's steps
    instead of after them, and accuracies in percent.
    """
    if not callable(train):
        raise AnswerError(f"check_training_loop: pass your function itself, got a {type(train).__name__}")
    from ..trainer import Trainer

    data, epochs = LoopData(), LOOP_EPOCHS
    steps = len(data.train_dataloader(1))
    reference = _loop_model(LOOP_SEED, data)
    start = [p.detach().clone() for p in reference.parameters()]
    with torch.no_grad():
        start_acc = float((reference(data.X_test).argmax(dim=1) == data.y_test).float().mean())
    with torch.random.fork_rng(devices=[]):
        history = Trainer(max_epochs=epochs, device="cpu", progress=False).fit(reference, data)
    expected = [p.detach() for p in reference.parameters()]
    names = [name for name, _ in reference.named_parameters()]

    model = _loop_model(LOOP_SEED, data)
    model.eval()  # as Trainer.fit leaves a model: the loop must switch to training mode itself
    test_rows = data.X_test.reshape(len(data.X_test), -1)
    calls: list[tuple[bool, bool, str]] = []

    def record(module: torch.nn.Module, inputs: tuple[Any, ...]) -> None:
        X = inputs[0] if inputs else None
        split = "other"
        if isinstance(X, torch.Tensor) and X.numel() and X.numel() % data.num_inputs == 0:
            rows = X.detach().reshape(-1, data.num_inputs).to(test_rows.device, test_rows.dtype)
            in_test = (rows[:, None, :] == test_rows[None]).all(dim=-1).any(dim=-1)
            split = "test" if bool(in_test.all()) else "train" if not bool(in_test.any()) else "other"
        calls.append((torch.is_grad_enabled(), module.training, split))

    hook = model.register_forward_pre_hook(record)
    stepped_early = ("you stepped before loss.backward(): the step changed the parameters in place while "
                     "the loss's graph still needed them (or used a .grad that backward() had not filled "
                     "yet). Per minibatch: the loss, then loss.backward(), then the step.")
    try:
        with torch.random.fork_rng(devices=[]):
            result = attempt("train", train, model, data, epochs, copy=False)
    except TypeError as error:
        if "NoneType" in str(error):
            raise AnswerError("train: the step found a parameter's .grad empty (None): it came before "
                              "loss.backward(), or the gradients were reset between backward() and the step. "
                              "Per minibatch: the loss, then loss.backward(), then the step, and the gradients "
                              f"reset after the step or before backward(). (What failed: {error}.)") from None
        raise
    except RuntimeError as error:
        text = str(error)
        if "modified by an inplace operation" in text:
            raise AnswerError(f"train: {stepped_early}") from None
        if "does not require grad" in text or "does not have a grad_fn" in text:
            raise AnswerError("train: loss.backward() found no graph: the training loss was computed under "
                              "torch.no_grad() (or detached, e.g. with .item()). Only the evaluation belongs "
                              "inside torch.no_grad(); the steps need autograd.") from None
        if "backward through the graph a second time" in text:
            raise AnswerError("train: backward() ran twice through one graph: call loss.backward() once "
                              "per minibatch, on a loss computed from that minibatch.") from None
        if "same device" in text:
            raise AnswerError("train: tensors on two devices. The data module serves its batches on the "
                              "device of the model; do not move them to a fixed device.") from None
        raise
    except AttributeError as error:
        raise AnswerError(f"train: {error}. The check passes a small data module with FashionMNIST's "
                          "methods train_dataloader(epoch) and test_dataloader(), and an MLPScratch with "
                          "its parameters(), loss() and lr.") from None
    finally:
        hook.remove()

    yours = [p.detach() for p in model.parameters()]
    if not all(torch.isfinite(p).all() for p in yours):
        raise AnswerError("train: the parameters became NaN or infinite. Check the learning rate "
                          "(model.lr) and that the loss is the mean over the minibatch.")
    if not all(_close(p, q) for p, q in zip(yours, expected)):
        if all(torch.equal(p, s) for p, s in zip(yours, start)):
            raise AnswerError("train: the parameters did not change. Did your loop call the step (sgd_step(params, "
                              "model.lr)) after loss.backward()? Zeroing the gradients between backward() and "
                              "the step also leaves nothing to step with: zero them after the step or before "
                              "backward().")
        trained_on_test = any(grad and split == "test" for grad, _, split in calls)
        for message, parameters in _known_loop_mistakes(data, epochs, LOOP_LR).items():
            if all(_close(p, q) for p, q in zip(yours, parameters)):
                raise AnswerError(f"train: {message}")
        if trained_on_test and not any(grad and split == "train" for grad, _, split in calls):
            raise AnswerError("train: you trained on the test batches. The test set only measures the model; "
                              "the steps use data.train_dataloader(epoch).")
        forwards = sum(1 for grad, _, split in calls if grad and split == "train")
        if forwards != epochs * steps:
            raise AnswerError(f"train: the model ran {forwards} times on training batches with autograd on; "
                              f"{epochs} epochs of {steps} minibatches are {epochs * steps}: one forward pass, "
                              "one backward() and one step per minibatch.")
        number = next(i for i, (p, q) in enumerate(zip(yours, expected)) if not _close(p, q))
        largest = (yours[number] - expected[number]).abs().max().item()
        raise AnswerError(f"train: after {epochs} epochs your parameters differ from Trainer.fit's (first "
                          f"{names[number]}, by up to {largest:.3g}). Per minibatch of "
                          "data.train_dataloader(epoch), for epoch = 1, ..., num_epochs: the mean loss "
                          "model.loss(model(X), y), loss.backward(), a step of SGD at model.lr, and the "
                          "gradients zeroed once per step.")
    if any(split == "train" and grad and not training for grad, training, split in calls):
        raise AnswerError("train: the steps ran in evaluation mode. The model arrives in evaluation mode (as "
                          "Trainer.fit leaves a model, and as model.eval() for an evaluation leaves it): call "
                          "model.train() at the start of every epoch. (Here the parameters came out right because this model "
                          "has no dropout or batch normalization, which behave differently in the two modes.)")
    test_calls = [(grad, training) for grad, training, split in calls if split == "test"]
    if any(training for _, training in test_calls):
        raise AnswerError("train: the test batches ran in training mode: call model.eval() before the "
                          "evaluation (and model.train() before the next epoch's steps). This model computes "
                          "the same either way, one with dropout or batch normalization would not.")
    if any(grad for grad, _ in test_calls):
        raise AnswerError("train: the evaluation ran with autograd on, which records a graph for every test "
                          "batch, memory and time for nothing: evaluate inside `with torch.no_grad():`.")

    want = history.eval_acc
    if result is None:
        raise AnswerError("train: your function returned None; return the list of test accuracies, one "
                          "per epoch (did it forget a `return`?).")
    if isinstance(result, torch.Tensor) and result.dim() == 1:
        result = result.tolist()
    if isinstance(result, (int, float, torch.Tensor)) and not isinstance(result, bool):
        raise AnswerError(f"train: you returned one number; return a list of {epochs} test accuracies, one "
                          "measured after each epoch.")
    try:
        got = [float(v) for v in result]
    except (TypeError, ValueError):
        raise AnswerError(f"train: expected a list of {epochs} test accuracies, got {result!r:.200}") from None
    if not test_calls:
        raise AnswerError("train: the model never ran on the test batches; after each epoch, measure the "
                          "accuracy on data.test_dataloader().")
    if len(got) != len(want):
        hint = (" You evaluated once, at the end: evaluate after every epoch, inside the epoch loop."
                if len(got) == 1 else "")
        raise AnswerError(f"train: you returned {len(got)} {'accuracy' if len(got) == 1 else 'accuracies'} "
                          f"for {epochs} epochs.{hint}")
    tolerance = 1.5 / len(data.y_test)  # one test image's worth of rounding in a logit
    if all(abs(g - w) <= tolerance for g, w in zip(got, want)):
        print(f"✓ train: the same parameters as Trainer.fit from the same seed after {epochs} epochs of "
              f"{steps} minibatches, and the same test accuracy after each epoch; steps in training mode, "
              "the evaluation in evaluation mode without autograd")
        return
    if all(abs(g - 100 * w) <= 100 * tolerance for g, w in zip(got, want)):
        raise AnswerError("train: your accuracies are in percent; return fractions, correct / number of "
                          "test images.")
    if all(abs(g - len(data.y_test) * w) < 0.5 for g, w in zip(got, want)):
        raise AnswerError("train: you returned numbers of correct predictions; divide by the number of test "
                          "images (the sum of len(y) over the test batches).")
    if all(abs(g - w) <= tolerance for g, w in zip(got, [start_acc] + want[:-1])):
        raise AnswerError("train: each accuracy was measured before its epoch's steps, not after them: "
                          "evaluate at the end of the epoch.")
    epoch = next(i for i, (g, w) in enumerate(zip(got, want)) if abs(g - w) > tolerance)
    raise AnswerError(f"train: after epoch {epoch + 1} your test accuracy is {got[epoch]:.4f}, Trainer.fit "
                      f"measured {want[epoch]:.4f} with the same parameters. The accuracy is the fraction of "
                      "test images whose largest logit is the true class, over all of data.test_dataloader().")


__all__ += ["LoopData", "check_training_loop"]
