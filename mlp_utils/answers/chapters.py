"""Checks and references for the fill-ins of chapters 1, 2, 3, 5 and 6."""
from __future__ import annotations

import copy
import functools
import math
import operator
import traceback
from unittest import mock
from typing import Any, Callable, Sequence

import torch

from .core import AnswerError, _again, _cmp, _number, answer_check, attempt, check_cases, cmp


def class_means(X: torch.Tensor, y: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """The mean flattened image of each class as rows, (num_classes, features); NaN for an empty class."""
    rows = X.reshape(len(X), -1).to(torch.float32)
    labels = y.to(rows.device)
    sums = torch.zeros(num_classes, rows.shape[1], device=rows.device).index_add_(0, labels, rows)
    return sums / torch.bincount(labels, minlength=num_classes)[:num_classes, None].to(rows.dtype)


def _check_sizes(function: str, **sizes: Any) -> None:
    for label, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{function}: {label} must be an integer >= 1, got {n!r}")


_PARAMS_OTHER = ((196, 200), (64, 72), (40, 36))  # second sizes: the first of each pair unless taken
_PARAMS_Z = 6.0  # tolerances in standard errors: a true N(0, sigma^2) draw fails one with probability ~2e-9
_NORMAL_WITHIN_ONE_STD = math.erf(1 / math.sqrt(2))  # 0.6827: normal draws within one std of their mean
# n times the variance of the fraction of n normal draws within one *sample* std of their mean (delta
# method: estimating the std from the same draws takes out part of the binomial p(1-p) = 0.217): 0.0995.
_WITHIN_ONE_STD_VARIANCE = _NORMAL_WITHIN_ONE_STD * (1 - _NORMAL_WITHIN_ONE_STD) - 2 * math.exp(-1) / (2 * math.pi)


def _other_sizes(pairs: Sequence[tuple[int, int]], sizes: Sequence[int]) -> tuple[int, ...]:
    return tuple(a if a != n else b for (a, b), n in zip(pairs, sizes))


def _again_with(what: str, first: str, second: str, fix: str, check: Callable[[], Any]) -> None:
    """Run ``check`` on a second set of sizes, the caller's random numbers untouched."""
    with torch.random.fork_rng(devices=[]):
        _again(f"{what}: right for {first} but not for {second}: {fix}", check)


def _check_parameter_values(params: Any, num_inputs: int, num_hiddens: int, num_outputs: int,
                            sigma: float) -> int:
    """Check one set of ``[W1, b1, W2, b2]`` for these sizes; raise :class:`AnswerError` or return the count."""
    want = [(num_inputs, num_hiddens), (num_hiddens,), (num_hiddens, num_outputs), (num_outputs,)]
    if params is None:
        raise AnswerError("parameters: your code returned None; did it forget a `return`?")
    params = list(params.values()) if isinstance(params, dict) else params
    if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__"):
        raise AnswerError(f"parameters: expected the four tensors [W1, b1, W2, b2], got a {type(params).__name__}.")
    named = dict(zip(("W1", "b1", "W2", "b2"), params := list(params)))
    if len(params) != 4:
        raise AnswerError(f"parameters: expected four tensors W1, b1, W2, b2 (a weight matrix and a "
                          f"bias vector per layer, in this order), got {len(params)}.")
    if bad := next((name for name, p in named.items() if not isinstance(p, torch.Tensor)), None):
        raise AnswerError(f"{bad}: expected a tensor, got a {type(named[bad]).__name__}.")
    got = [tuple(p.shape) for p in params]
    if sorted(got) == sorted(want) and got != want:
        raise AnswerError(f"parameters: the shapes are right but the order is not: got {got}; return them "
                          f"as [W1, b1, W2, b2] = {want}.")
    for name, shape, p in zip(named, want, params):
        if tuple(p.shape) != shape:
            raise AnswerError(f"{name}: shape {tuple(p.shape)}, expected {shape}." + (
                f" That is the transpose: with X of shape (batch, inputs), X @ {name} needs {name} as "
                f"(inputs, outputs) = {shape}. (nn.Linear stores the transpose; a hand-written layer does not.)"
                if tuple(p.shape) == shape[::-1] != shape else f" A bias is a vector of {shape[0]} numbers: "
                f"torch.zeros({shape[0]})." if len(shape) == 1 and p.numel() == shape[0] else ""))
        why = (f"a plain {type(p).__name__}, not an nn.Parameter. Wrap it, nn.Parameter(...), so that "
               "autograd tracks it and a module lists it in parameters()."
               if not isinstance(p, torch.nn.Parameter) else
               "requires_grad is False, so autograd would never compute its gradient; leave nn.Parameter's "
               "default requires_grad=True." if not p.requires_grad else
               f"dtype {p.dtype}, expected torch.float32 (the dtype of the images and PyTorch's default); "
               "create it with torch.randn / torch.zeros without a dtype, or convert with .float()."
               if p.dtype != torch.float32 else "")
        if why:
            raise AnswerError(f"{name}: {why}")
    for name in ("b1", "b2"):
        if (nonzero := int((named[name] != 0).sum())):
            raise AnswerError(f"{name}: {nonzero} of {named[name].numel()} entries are not zero; biases start "
                              f"at exactly zero: nn.Parameter(torch.zeros({named[name].numel()})).")
    for name, sizes in (("W1", "num_inputs, num_hiddens"), ("W2", "num_hiddens, num_outputs")):
        _check_normal_draw(name, named[name].detach().cpu().double(), sigma, f"torch.randn({sizes}) * sigma")
    return sum(p.numel() for p in params)


def _check_normal_draw(name: str, w: torch.Tensor, sigma: float, randn: str) -> None:
    """Raise :class:`AnswerError` unless the weights ``w`` look like independent draws from N(0, sigma^2)."""
    if not torch.isfinite(w).all():
        raise AnswerError(f"{name}: contains NaN or infinite entries.")
    n = w.numel()
    mean, std = w.mean().item(), (w.std().item() if n > 1 else 0.0)
    if std == 0:
        raise AnswerError(f"{name}: every entry is {mean:.3g}: all hidden units would compute the "
                          f"same thing forever. Draw the weights at random: {randn}.")
    if bool((w >= 0).all()):
        raise AnswerError(f"{name}: every entry is >= 0 (mean {mean:.3g}, standard deviation {std:.3g}): "
                          "that is torch.rand, uniform on [0, 1), instead of torch.randn, the "
                          f"standard normal distribution. Use {randn}.")
    values = torch.unique(w)
    if len(values) <= 16 < n:
        shown = ", ".join(f"{v:.3g}" for v in values[:6].tolist()) + (", ..." if len(values) > 6 else "")
        raise AnswerError(f"{name}: its {n:,} entries take only {len(values)} distinct values ({shown}), "
                          "as random signs times sigma or a rounded draw would; normal draws take a "
                          f"different value almost every time. Use {randn}.")
    for kind, lines in (("column", w.T), ("row", w)):  # normal draws never repeat 4 or more numbers
        seen: dict[tuple[float, ...], int] = {}
        for k, line in enumerate(lines.tolist() if w.dim() == 2 and lines.shape[1] >= 4 else ()):
            if (j := seen.setdefault(tuple(line), k)) != k:
                unit = {("W1", "column"): "hidden units", ("W2", "column"): "output units",
                        ("W1", "row"): "inputs", ("W2", "row"): "hidden units"}[name, kind]
                what = ("receive the same weights, so they compute the same value and get the same update: "
                        "identical units" if kind == "column" else "send the same weights to every unit")
                raise AnswerError(f"{name}: {kind}s {j} and {k} are equal: {unit} {j} and {k} {what}. A "
                                  "repeated (or broadcast) draw does this; draw every entry on its own: "
                                  f"{randn}.")
    tolerance = _PARAMS_Z / math.sqrt(2 * (n - 1))  # the relative standard error of a sample std
    if abs(std / sigma - 1) > tolerance:
        hints = ((sigma**2, f" You used sigma^2 = {sigma**2:g} as the standard deviation: multiply "
                  "torch.randn(...) by sigma, not by sigma**2."),
                 (1.0, f" Did you forget to multiply torch.randn(...) by sigma = {sigma:g}?"),
                 (math.sqrt(sigma), " You used sqrt(sigma) as the standard deviation: multiply by sigma."))
        hint = next((hint for used, hint in hints if sigma != 1 and abs(std / used - 1) < tolerance),
                    f" Scale the standard normal draws by sigma itself: {randn}.")
        raise AnswerError(f"{name}: standard deviation {std:.4g}, expected sigma = {sigma:g} (N(0, sigma^2) has "
                          f"standard deviation sigma; {n:,} draws put theirs within {tolerance:.1%} of it).{hint}")
    if abs(mean) > 5 * sigma / math.sqrt(n) + 0.05 * sigma:
        raise AnswerError(f"{name}: mean {mean:.3g}, expected about 0: the weights are drawn from "
                          f"N(0, sigma^2), centred at zero ({randn}, nothing added).")
    within = ((w - mean).abs() < std).double().mean().item()
    allowed = _PARAMS_Z * math.sqrt(_WITHIN_ONE_STD_VARIANCE / n)
    if abs(within - _NORMAL_WITHIN_ONE_STD) > allowed:
        shape = (" A uniform distribution puts 57.7% there (torch.rand shifted and scaled)."
                 if within < _NORMAL_WITHIN_ONE_STD else
                 " More than a normal distribution would: the draws pile up near the centre, as with heavy tails.")
        raise AnswerError(f"{name}: {within:.1%} of the entries lie within one standard deviation of their "
                          f"mean; draws from a normal distribution put {_NORMAL_WITHIN_ONE_STD:.1%} there "
                          f"(for {n:,} draws, within {allowed:.1%}).{shape} Draw from the normal "
                          f"distribution: {randn}.")


@answer_check
def check_parameters(params: Any, num_inputs: int, num_hiddens: int, num_outputs: int,
                     sigma: float) -> None:
    """Check the reader's ``init_params`` (or its result), a function again with other sizes and sigma."""
    _check_sizes("check_parameters", num_inputs=num_inputs, num_hiddens=num_hiddens, num_outputs=num_outputs)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma < math.inf:
        raise ValueError(f"check_parameters: sigma must be a positive number, got {sigma!r}")
    function = params if callable(params) else None
    if function is not None:
        params = attempt("init_params", function, num_inputs, num_hiddens, num_outputs, sigma)
    total = _check_parameter_values(params, num_inputs, num_hiddens, num_outputs, sigma)
    again = ""
    if function is not None:
        other, other_sigma = _other_sizes(_PARAMS_OTHER, (num_inputs, num_hiddens, num_outputs)), 3 * sigma
        _again_with("init_params", f"sizes {(num_inputs, num_hiddens, num_outputs)} and sigma {sigma:g},",
                    f"sizes {other} and sigma {other_sigma:g}", "build every shape from the arguments num_inputs, "
                    "num_hiddens and num_outputs, and scale by the argument sigma, not by fixed numbers.",
                    lambda: _check_parameter_values(attempt("init_params", function, *other, other_sigma),
                                                    *other, other_sigma))
        again = f"; the same for sizes {other} and sigma {other_sigma:g}"
    print(f"✓ parameters: W1 {(num_inputs, num_hiddens)}, b1 ({num_hiddens},), W2 {(num_hiddens, num_outputs)}, "
          f"b2 ({num_outputs},) ({total:,} numbers), nn.Parameter, float32, biases zero, weights drawn from "
          f"N(0, {sigma:g}^2){again}")


@answer_check
def check_sgd_step(sgd_step: Callable[..., Any], lr: float = 0.1, seed: int = 0) -> None:
    """Check the reader's ``sgd_step(params, lr)`` against ``torch.optim.SGD`` plus ``zero_grad``, at two rates."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise ValueError(f"check_sgd_step: lr must be a number between 0 and 1 (exclusive), got {lr!r}")
    _check_sgd_once(sgd_step, lr, seed)
    other = round(lr * 0.37, 6)  # a second rate: a hard-coded 0.1 is right only at 0.1
    _again(f"sgd_step: right at lr={lr:g} but not at lr={other:g}: use the lr argument (p -= lr * p.grad), not a "
           "fixed number.", lambda: _check_sgd_once(sgd_step, other, seed + 1))
    print(f"✓ sgd_step: same parameters as torch.optim.SGD at lr={lr:g} and lr={other:g}, and the "
          "gradients are zeroed")


def _check_sgd_once(sgd_step: Callable[..., Any], lr: float, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    shapes = [(6, 4), (4,), (4, 3), (3,)]
    start, grads = ([torch.randn(s, generator=generator) for s in shapes] for _ in range(2))
    yours, reference = ([torch.nn.Parameter(t.clone()) for t in start] for _ in range(2))
    for p, q, g in zip(yours, reference, grads):
        p.grad, q.grad = g.clone(), g.clone()
    torch.optim.SGD(reference, lr=lr).step()
    try:
        attempt("sgd_step", sgd_step, yours, lr, copy=False, returns=False)
    except RuntimeError as error:
        if "in-place" not in str(error) and "leaf Variable" not in str(error):
            raise
        raise AnswerError("sgd_step: PyTorch refused to change a parameter in place because autograd records "
                          "operations on it. Do the update inside `with torch.no_grad():`.") from error
    for number, (p, q, s, g) in enumerate(zip(yours, reference, start, grads)):
        zeroed = p.grad is None or not p.grad.any()
        _cmp(f"sgd_step: the change of parameter {number}", p.detach() - s, q.detach() - s, atol=1e-6, rtol=1e-5,
             mistakes=[("it did not change. " + (
                 "Its gradient is zero now: did you zero the gradients before using them? Update first, then zero."
                 if zeroed else "`p = p - lr * p.grad` only gives the loop variable a new tensor; change the "
                 "parameter itself in place, p -= lr * p.grad (inside torch.no_grad())."), torch.zeros_like(s)),
                ("you subtracted the gradient with the wrong sign: the step went uphill. Gradient descent moves "
                 "against the gradient: p -= lr * p.grad.", lr * g),
                (f"the step is the whole gradient: you forgot the learning rate lr = {lr:g}. Use p -= lr * p.grad.",
                 -g),
                ("you added the whole gradient: wrong sign and no learning rate. Use p -= lr * p.grad.", g)])
        if not zeroed:
            raise AnswerError(f"sgd_step: the update is right, but parameter {number} still holds its gradient: "
                              "you forgot zero_grad. backward() adds to .grad, so the next step would use the sum "
                              "of this gradient and the next. After the update, p.grad.zero_() (or p.grad = None).")


@answer_check
def check_flatten(flatten: Callable[[torch.Tensor], Any], X: torch.Tensor) -> None:
    """Check the reader's ``flatten(X)`` on ``X``, its last 96 images and one image (a smaller last batch)."""
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


_NET_OTHER = ((32, 48), (7, 5))  # a second call's num_hiddens and num_outputs: the first of each pair unless taken


_RELU_ONLY = "this chapter's network uses nn.ReLU() between its two layers (other activations are exercise 8's topic)"
_F = torch.nn.functional
_NOT_RELU = {"torch.sigmoid": torch.sigmoid, "torch.tanh": torch.tanh, "torch.abs": torch.abs,
             "GELU": _F.gelu, "ELU": _F.elu, "SiLU": _F.silu, "softplus": _F.softplus} | {
    f"a leaky ReLU (negative inputs scaled by {a:g})": functools.partial(_F.leaky_relu, negative_slope=a)
    for a in (0.01, 0.1, 0.2)}


def _check_activation_behaviour(net: torch.nn.Module, X: torch.Tensor, num_hiddens: int, num_outputs: int,
                                out: torch.Tensor) -> None:
    """Raise :class:`AnswerError` unless ``net`` computes a ReLU between its layers, judged by its outputs."""
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    first, second = ([m for m in linears if (m.in_features, m.out_features) == shape]
                     for shape in ((X[0].numel(), num_hiddens), (num_hiddens, num_outputs)))
    if len(linears) == 2 and len(first) == len(second) == 1 and first[0] is not second[0]:
        with torch.no_grad():  # the two layers are known: compare with what they compute around a ReLU
            Z = first[0](X.flatten(1))
            reference = second[0](torch.relu(Z))
            mistakes = [(f"between its two layers your network applies {name}, not ReLU; {_RELU_ONLY}.",
                         second[0](activation(Z))) for name, activation in _NOT_RELU.items()] + [
                ("your network returns the softmax of the logits (rows that sum to 1). cross_entropy applies the "
                 "softmax itself, so the model returns logits: leave the softmax out of forward.",
                 torch.softmax(reference, dim=1)),
                ("your network applies a ReLU after the output layer too, so no logit can be negative. Logits "
                 "can be any real number; the activation belongs between the two layers only.",
                 torch.relu(reference))]
        if not _close(out, reference):
            why = next((why for why, bad in mistakes if _close(out, bad) and not _close(bad, reference)),
                       "your network does not compute output_layer(relu(hidden_layer(x))) on the flattened "
                       f"images: its outputs differ from that by up to {(out - reference).abs().max():.3g}. "
                       "Flatten, the hidden layer, nn.ReLU(), the output layer, and nothing else in between "
                       "or after.")
            raise AnswerError(f"net: {why}")
        return
    # Layers we cannot name: test what a ReLU network with its biases set to zero must do.
    # f(c x) = c f(x) for c > 0 (a ReLU passes a positive factor through: sigmoid, tanh, GELU,
    # softplus do not), and f(x) - f(-x) = W2 W1 x, linear and not zero (zero for torch.abs).
    try:
        probe = copy.deepcopy(net).eval()
    except Exception:  # noqa: BLE001 - a module that cannot be copied is judged by its modules only
        return
    with torch.no_grad():
        for p in probe.parameters():
            if p.dim() == 1:
                p.zero_()
        f, other = probe(X), X.flip(0)
        scale, odd = f.abs().max().item() + 1e-12, f - probe(-X)
        odd_sum, odd_other = probe(X + other) - probe(-(X + other)), probe(other) - probe(-other)
        same = functools.partial(torch.allclose, rtol=1e-3)
        for wrong, why in (
                (not same(probe(64 * X), 64 * f, atol=64e-4 * scale) or not same(
                    probe(torch.zeros_like(X)), torch.zeros_like(f), atol=1e-4 * scale),
                 "with its biases set to zero your network does not scale with its input (f(64 x) differs from "
                 "64 f(x), or f(0) is not 0), as a ReLU network does: relu(c z) = c relu(z) for c > 0. A sigmoid, "
                 "tanh or GELU does not"),
                (odd.abs().max().item() <= 1e-6 * scale, "your network gives the same output for x and -x (with "
                 "its biases set to zero): the activation is even, as torch.abs is. ReLU keeps the positive part "
                 "and zeroes the negative one"),
                (not same(odd_sum, odd + odd_other, atol=1e-4 * odd.abs().max().item()), "with its biases set "
                 "to zero, f(x) - f(-x) of your network is not linear in x, as it is for a ReLU network "
                 "(relu(z) - relu(-z) = z)")):
            if wrong:
                raise AnswerError(f"net: {why}; {_RELU_ONLY}.")


def _check_one_net(net: Any, X: torch.Tensor, num_hiddens: int, num_outputs: int) -> int:
    """Check one network for these sizes; raise :class:`AnswerError` or return its parameter count."""
    if net is None:
        raise AnswerError("net: your code returned None; did it forget a `return`?")
    if not isinstance(net, torch.nn.Module):
        raise AnswerError(f"net: expected an nn.Module such as nn.Sequential(...), got a {type(net).__name__}.")
    net = net.to(X.device).eval()  # the batch may be on a GPU; in eval a Dropout is the identity, no activation
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
        missing = (f" The output layer is missing: end with nn.LazyLinear({num_outputs})."
                   if tuple(out.shape) == (len(X), num_hiddens) else "")
        raise AnswerError(f"net: output shape {tuple(out.shape)}, expected {want} (one row of logits per "
                          "image)." + (no_flatten or missing))
    expected_count = (X[0].numel() + 1) * num_hiddens + (num_hiddens + 1) * num_outputs
    count = sum(p.numel() for p in net.parameters())
    if count != expected_count:
        widths = [m.out_features for m in modules if isinstance(m, torch.nn.Linear)]
        raise AnswerError(f"net: {count:,} parameters, expected {expected_count:,} (two fully connected "
                          f"layers, {X[0].numel()} -> {num_hiddens} -> {num_outputs}, each with a bias); "
                          f"your linear layers have output widths {widths}.")
    # the layers in order (a module with its own parameters and no layers is judged by what it computes)
    core = [m for m in modules if m is not net and not isinstance(m, (torch.nn.Identity, torch.nn.Dropout))]
    if core and not isinstance(core[-1], torch.nn.Linear):
        kind = type(core[-1]).__name__
        raise AnswerError(f"net: the last layer is {kind}, so the outputs are not a linear layer's logits. "
                          + (
                              "cross_entropy applies the softmax itself, so the model returns logits."
                              if "Softmax" in kind else
                              "Logits can be any real number; the activation belongs between the layers."))
    with torch.no_grad():
        linear = torch.allclose(net(2 * X), 2 * out - net(torch.zeros_like(X)), atol=1e-5, rtol=1e-4)
    if linear:
        raise AnswerError("net: your network is linear: doubling the input changes the output exactly as "
                          "an affine map would (f(2x) = 2 f(x) - f(0)). Two linear layers in a row are one "
                          "linear layer; put an activation, nn.ReLU(), between them.")
    _check_activation_behaviour(net, X, num_hiddens, num_outputs, out)
    dropouts = [m for m in modules if isinstance(m, torch.nn.Dropout)]
    if dropouts:
        raise AnswerError(f"net: your network has {len(dropouts)} dropout layer{'s' if len(dropouts) > 1 else ''} "
                          f"(nn.Dropout(p={dropouts[0].p:g})); this chapter's network has none: nn.Flatten(), "
                          "the hidden layer, nn.ReLU(), the output layer. Dropout zeroes random units while "
                          "training, a regularizer of its own; leave it out here.")
    return count


@answer_check
def check_mlp_net(net: Any, X: torch.Tensor, num_hiddens: int = 256, num_outputs: int = 10) -> None:
    """Check the reader's ``build_net(num_hiddens, num_outputs)`` (or its network) on the batch ``X``."""
    if not isinstance(X, torch.Tensor) or X.dim() < 2 or len(X) < 2:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"check_mlp_net: X must be a batch of at least 2 images, got {shape}")
    _check_sizes("check_mlp_net", num_hiddens=num_hiddens, num_outputs=num_outputs)
    builder = callable(net) and not isinstance(net, torch.nn.Module)
    count = _check_one_net(attempt("build_net", net, num_hiddens, num_outputs) if builder else net, X, num_hiddens,
                           num_outputs)
    again = ""
    if builder:
        other = _other_sizes(_NET_OTHER, (num_hiddens, num_outputs))
        _again_with("build_net", f"build_net({num_hiddens}, {num_outputs})", f"build_net{other}", "take the widths "
                    "from the arguments num_hiddens and num_outputs, not fixed numbers.",
                    lambda: _check_one_net(attempt("build_net", net, *other), X, *other))
        again = f"; the same for build_net{other}"
    print(f"✓ net: output shape {(len(X), num_outputs)}, {count:,} parameters as in the reference, and a "
          f"ReLU between its two layers{again}")


# Chapter 9 (memory): the bytes the forward pass of training keeps

def _cache_bytes(sizes: Sequence[int], b: int, inputs: bool = True, logits: bool = True,
                 pre: bool = False) -> float:
    """Bytes of float32 activations ManualMLP's cache keeps for a batch of ``b`` (the flags: mistakes)."""
    return 4.0 * b * (sum(sizes[:-1] if inputs else sizes[1:-1]) + (sizes[-1] if logits else 0)
                      + (sum(sizes[1:-1]) if pre else 0))


_CACHE_CASES = (([784, 256, 10], 256), ([784, 256, 256, 10], 64), ([784, 1024, 512, 128, 10], 100),
               ([20, 3, 2], 7))


@answer_check
def check_cache_bytes(yours: Callable[..., Any]) -> None:
    """Check the reader's ``cache_bytes(sizes, batch_size)`` (chapter 9) on several networks and batches."""
    labels = "they are the loss's input, not an activation of the network, and ManualMLP's cache does not hold them"
    mistakes = [
        ("you counted numbers, not bytes: each float32 takes 4 bytes.", lambda s, b: _cache_bytes(s, b) / 4),
        ("you left out the logits: the softmax's gradient needs them, B x 10 floats more.",
         lambda s, b: _cache_bytes(s, b, logits=False)),
        ("you left out the input X: the first layer's weight gradient X^T dZ needs it.",
         lambda s, b: _cache_bytes(s, b, inputs=False)),
        ("you also counted the pre-activations Z: a ReLU's derivative can be read from its output "
         "H, which is kept anyway as the next layer's input.", lambda s, b: _cache_bytes(s, b, pre=True)),
        ("you counted the weights and biases; the cache holds activations, which grow with the batch.",
         lambda s, b: 4.0 * sum((a + 1) * c for a, c in zip(s[:-1], s[1:]))),
        ("you counted 8 bytes per number, as for float64; the network's activations are float32, "
         "4 bytes each.", lambda s, b: 2 * _cache_bytes(s, b)),
        (f"you also counted the labels: {labels} (autograd keeps them for the loss, 8 bytes each as int64, "
         "as the page shows next). Count only each linear layer's input and the logits.",
         lambda s, b: _cache_bytes(s, b) + 8.0 * b),
        (f"you also counted the labels, and as float32: {labels}. Count only each linear layer's input and "
         "the logits.", lambda s, b: _cache_bytes(s, b) + 4.0 * b),
    ]
    check_cases("cache_bytes", yours, [(list(s), b) for s, b in _CACHE_CASES], _cache_bytes, mistakes,
                value=functools.partial(_number, type_hint="return a number of bytes"), same=operator.eq,
                tick=f"✓ cache_bytes: matches the reference on {len(_CACHE_CASES)} networks and batch sizes")


# Chapter 5: the training loop, checked against Trainer.fit

class _LoopData:
    """FashionMNIST's loop methods on 200 noisily labelled images (3 x 64 + 8) and 120 test (64 + 56)."""

    eval_split, batch_size, seed, num_inputs, num_classes = "test", 64, 0, 20, 3

    def __init__(self, device: str | torch.device = "cpu") -> None:
        generator = torch.Generator().manual_seed(8191)
        teacher = torch.randn(20, 3, generator=generator)

        def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
            X = torch.rand(n, 1, 4, 5, generator=generator)
            noise = 0.5 * torch.randn(n, 3, generator=generator)
            return X.to(device), ((X.reshape(n, -1) - 0.5) @ teacher + noise).argmax(dim=1).to(device)

        (self.X_train, self.y_train), (self.X_test, self.y_test) = draw(200), draw(120)
        self.device = torch.device(device)

    def train_dataloader(self, epoch: int = 0):
        from ..data import InMemoryData

        return InMemoryData.train_dataloader(self, epoch)  # type: ignore[arg-type]

    def test_dataloader(self):
        from ..data import TensorBatches

        return TensorBatches(self.X_test, self.y_test, self.batch_size)

    eval_dataloader = test_dataloader  # what the trainer measures after every epoch


_LOOP_EPOCHS, _LOOP_OTHER_EPOCHS, _LOOP_LR, _LOOP_SEED = 3, 2, 0.2, 11
_LOOP_ACC_TOLERANCE = 1e-6  # float32 rounding of a fraction; one test image is 1/120 ~ 0.0083
_ON_TEST = ("you trained on the test batches. The test set only measures the model; the steps use "
            "data.train_dataloader(epoch).")


def _loop_model(seed: int, data: _LoopData):
    """The MLPScratch both loops start from, drawn from ``seed`` without touching the caller's random numbers."""
    from ..models import MLPScratch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLPScratch(num_inputs=data.num_inputs, num_outputs=data.num_classes, num_hiddens=8,
                           lr=_LOOP_LR, sigma=0.5)
    return model.to(data.device)


def _variant(data: _LoopData, epochs: Sequence[int], lr: float = _LOOP_LR, *, zero: bool = True,
             on_test: bool = False, reduction: str = "mean") -> list[torch.Tensor]:
    """The parameters a loop with a known mistake ends with (``epochs``: the epoch numbers it shuffles by)."""
    model = _loop_model(_LOOP_SEED, data)
    for epoch in epochs:
        for X, y in (data.test_dataloader() if on_test else data.train_dataloader(epoch)):
            torch.nn.functional.cross_entropy(model(X), y, reduction=reduction).backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
                    if zero:
                        p.grad = None
    return [p.detach() for p in model.parameters()]


def _known_loop_mistakes(data: _LoopData, epochs: int, asked_before: int | None) -> list[tuple[str, Any]]:
    """What the usual mistakes end with, each named with its fix (``asked_before``: a first run's epochs)."""
    right = range(1, epochs + 1)
    fix = "Use for epoch in range(1, num_epochs + 1) and data.train_dataloader(epoch)."
    shuffle = "every epoch saw the minibatches{} in the same order: ask for each epoch's own shuffle. " + fix
    return [(why, _variant(data, **how)) for why, how in [
        *([(f"you trained for {asked_before} epochs when num_epochs = {epochs}: the number of epochs is typed "
            "into your loop.", dict(epochs=range(1, asked_before + 1)))] if asked_before else []),
        ("the gradients were never reset: backward() adds to .grad, so every step used the sum of all the "
         "gradients so far. Zero them once per step, after the update or before loss.backward().",
         dict(epochs=right, zero=False)),
        (f"you trained for one epoch only (the check asked for {epochs}). " + fix, dict(epochs=[1])),
        (f"you trained for {epochs - 1} epochs, not {epochs}: range(1, num_epochs) stops before num_epochs. "
         + fix, dict(epochs=right[:-1])),
        ("your epochs are numbered from 0, but data.train_dataloader(epoch) shuffles by the number, "
         "1, 2, ... in Trainer.fit. " + fix, dict(epochs=range(epochs))),
        (shuffle.format(""), dict(epochs=[0] * epochs)),
        (shuffle.format(" of epoch 1,"), dict(epochs=[1] * epochs)),
        (_ON_TEST, dict(epochs=right, on_test=True)),
        ("your loss is the sum over the minibatch, not the mean: use model.loss(model(X), y), the mean "
         "cross-entropy.", dict(epochs=right, reduction="sum")),
        (f"you stepped with a learning rate of 0.1 where the model's is {_LOOP_LR:g}: use model.lr.",
         dict(epochs=right, lr=0.1))]]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=1e-5, rtol=1e-4))


def _all_close(these: Sequence[torch.Tensor], those: Sequence[torch.Tensor]) -> bool:
    return all(_close(p, q) for p, q in zip(these, those))


class _HelperUnwritten(Exception):
    """The reader's loop is written but calls another fill-in that is still a stub."""


def _loop_calling(train: Callable[..., Any]) -> Callable[..., Any]:
    """``train``, but a stub it calls (``sgd_step``) raises :class:`_HelperUnwritten` with the stub's name."""
    from .core import NotWritten

    if not callable(train):
        return train  # attempt says: pass the function itself
    own = getattr(train, "__code__", None)

    @functools.wraps(train)
    def run(*args: Any) -> Any:
        try:
            return train(*args)
        except NotWritten as unwritten:
            inner = list(traceback.walk_tb(unwritten.__traceback__))[-1][0].f_code  # where it was raised
            if own is not None and inner is not own:
                raise _HelperUnwritten(inner.co_name) from unwritten
            raise
    return run


def _accuracy(model: torch.nn.Module, parameters: Sequence[torch.Tensor], data: _LoopData) -> tuple[int, float]:
    """Test images ``model`` with ``parameters`` gets right, and the (wrong) mean of batch accuracies."""
    with torch.no_grad():
        for p, value in zip(model.parameters(), parameters):
            p.copy_(value)
        model.eval()
        hits = [(model(X).argmax(dim=1) == y) for X, y in data.test_dataloader()]
    return int(sum(int(h.sum()) for h in hits)), sum(float(h.float().mean()) for h in hits) / len(hits)


@answer_check
def check_training_loop(train: Callable[..., Any], device: str | torch.device | None = None) -> None:
    """Check the reader's ``train(model, data, num_epochs)`` against Trainer.fit for 3 epochs and 2."""
    from ..device import pick_device

    data = _LoopData(device=pick_device(device))
    run = _loop_calling(train)
    try:
        steps = _check_loop_once(run, data, _LOOP_EPOCHS)
        _again(f"train: right for num_epochs={_LOOP_EPOCHS} but not for num_epochs={_LOOP_OTHER_EPOCHS}: the epoch "
               "loop must run num_epochs times, for epoch in range(1, num_epochs + 1), with the argument num_epochs, "
               "not a fixed number.", lambda: _check_loop_once(run, data, _LOOP_OTHER_EPOCHS, asked_before=_LOOP_EPOCHS))
    except _HelperUnwritten as helper:
        print(f"○ train: your loop calls {helper.args[0]}, which is not written yet (the fill-in above): write "
              f"{helper.args[0]} first. Until then the rest of the page uses the reference implementation.")
        return None
    print(f"✓ train: the same parameters as Trainer.fit from the same seed after {_LOOP_EPOCHS} epochs of {steps} "
          f"minibatches, and after {_LOOP_OTHER_EPOCHS}; after each epoch exactly the test accuracy of your "
          "parameters at that point; steps in training mode, the evaluation in evaluation mode without autograd")


_NO_GRAPH = ("loss.backward() found no graph: the training loss was computed under torch.no_grad() (or detached, "
             "e.g. with .item()). Only the evaluation belongs inside torch.no_grad(); the steps need autograd.")
_LOOP_ERRORS = (  # words of PyTorch's error, and what the loop did
    ("NoneType", "the step found a parameter's .grad empty (None): it came before loss.backward(), or the gradients "
     "were reset between backward() and the step. Per minibatch: the loss, then loss.backward(), then the step, and "
     "the gradients reset after the step or before backward(). (What failed: {error}.)"),
    ("modified by an inplace operation", "you stepped before loss.backward(): the step changed the parameters in "
     "place while the loss's graph still needed them (or used a .grad that backward() had not filled yet). Per "
     "minibatch: the loss, then loss.backward(), then the step."),
    ("does not require grad", _NO_GRAPH), ("does not have a grad_fn", _NO_GRAPH),
    ("backward through the graph a second time", "backward() ran twice through one graph: call loss.backward() "
     "once per minibatch, on a loss computed from that minibatch."),
    ("same device", "tensors on two devices. The data module serves its batches on the device of the model "
     "({device} here); do not move them to another device."),
)
_NOT_CHANGED = ("the parameters did not change. Did your loop call the step (sgd_step(params, model.lr)) "
                "after loss.backward()? Zeroing the gradients between backward() and the step also leaves "
                "nothing to step with: zero them after the step or before backward().")
_FIT_CALLED = ("your function calls Trainer.fit, the shortcut this page takes apart: the exercise asks for "
               "the loop written out. For epoch in range(1, num_epochs + 1): model.train(); per minibatch of "
               "data.train_dataloader(epoch) the loss, loss.backward() and sgd_step(params, model.lr); then "
               "the test accuracy under model.eval() and torch.no_grad().")


def _check_loop_once(train: Callable[..., Any], data: _LoopData, epochs: int,
                     asked_before: int | None = None) -> int:
    """Run the reader's loop beside Trainer.fit; raise :class:`AnswerError` or return the steps per epoch."""
    from ..trainer import Trainer

    steps = len(data.train_dataloader(1))
    reference, judge, model = (_loop_model(_LOOP_SEED, data) for _ in range(3))  # judge: accuracies of yours
    with torch.random.fork_rng(devices=[]):
        history = Trainer(max_epochs=epochs, device=data.device, progress=False).fit(reference, data)
    expected = [p.detach() for p in reference.parameters()]
    start = [p.detach().clone() for p in model.parameters()]
    model.eval()  # as Trainer.fit leaves a model: the loop must switch to training mode itself
    test_rows = data.X_test.reshape(len(data.X_test), -1)
    calls: list[tuple[bool, bool, str]] = []  # (autograd on, training mode, "train", "test" or "other")
    epoch_ends: list[list[torch.Tensor]] = []  # the parameters when epoch 2, 3, ... begins

    def record(module: torch.nn.Module, inputs: tuple[Any, ...]) -> None:
        X = inputs[0] if inputs else None
        split = "other"
        if isinstance(X, torch.Tensor) and X.numel() and X.numel() % data.num_inputs == 0:
            rows = X.detach().reshape(-1, data.num_inputs).to(test_rows.device, test_rows.dtype)
            in_test = (rows[:, None, :] == test_rows[None]).all(dim=-1).any(dim=-1)
            split = "test" if bool(in_test.all()) else "train" if not bool(in_test.any()) else "other"
        grad = torch.is_grad_enabled()
        trained = sum(1 for g, _, s in calls if g and s == "train")
        if grad and split == "train" and trained and trained % steps == 0 and len(epoch_ends) < trained // steps:
            with torch.inference_mode(False), torch.no_grad():
                epoch_ends.append([p.detach().clone() for p in module.parameters()])
        calls.append((grad, module.training, split))

    try:
        with (model.register_forward_pre_hook(record), torch.random.fork_rng(devices=[]),
              mock.patch.object(Trainer, "fit", autospec=True, side_effect=Trainer.fit) as fit):
            result = attempt("train", train, model, data, epochs, copy=False, returns=False)
    except (TypeError, RuntimeError) as error:
        why = next((why for words, why in _LOOP_ERRORS if words in str(error)
                    and (words == "NoneType") == isinstance(error, TypeError)), None)
        if why is None:
            raise
        raise AnswerError("train: " + why.format(error=error, device=data.device.type)) from None
    except AttributeError as error:
        raise AnswerError(f"train: {error}. The check passes a small data module with FashionMNIST's "
                          "methods train_dataloader(epoch) and test_dataloader(), and an MLPScratch with "
                          "its parameters(), loss() and lr.") from None
    yours = [p.detach() for p in model.parameters()]
    trained = [(grad, training) for grad, training, split in calls if split == "train"]
    forwards = sum(1 for grad, _ in trained if grad)
    for wrong, why in (
            (fit.called, _FIT_CALLED),
            (not all(torch.isfinite(p).all() for p in yours), "the parameters became NaN or infinite. Check "
             "the learning rate (model.lr) and that the loss is the mean over the minibatch.")):
        if wrong:
            raise AnswerError(f"train: {why}")
    if not _all_close(yours, expected):
        for message, parameters in [(_NOT_CHANGED, start), *_known_loop_mistakes(data, epochs, asked_before)]:
            if _all_close(yours, parameters):
                raise AnswerError(f"train: {message}")
        if not forwards and any(grad and split == "test" for grad, _, split in calls):
            raise AnswerError(f"train: {_ON_TEST}")
        if forwards != epochs * steps:
            raise AnswerError(f"train: the model ran {forwards} times on training batches with autograd on; "
                              f"{epochs} epochs of {steps} minibatches are {epochs * steps}: one forward pass, "
                              "one backward() and one step per minibatch.")
        number = next(i for i, (p, q) in enumerate(zip(yours, expected)) if not _close(p, q))
        name = [name for name, _ in reference.named_parameters()][number]
        raise AnswerError(f"train: after {epochs} epochs your parameters differ from Trainer.fit's (first "
                          f"{name}, by up to {(yours[number] - expected[number]).abs().max():.3g}). Per "
                          "minibatch of data.train_dataloader(epoch), for epoch = 1, ..., num_epochs: the "
                          "mean loss model.loss(model(X), y), loss.backward(), an SGD step at model.lr, and "
                          "the gradients zeroed once per step.")
    test_calls = [(grad, training) for grad, training, split in calls if split == "test"]
    got = _accuracies(result, epochs)
    for wrong, why in (
            (any(grad and not training for grad, training in trained), "the steps ran in evaluation mode. The "
             "model arrives in evaluation mode (as Trainer.fit leaves a model, and as model.eval() for an evaluation "
             "leaves it): call model.train() at the start of every epoch. (Here the parameters came out right "
             "because this model has no dropout or batch normalization, which behave differently in the two modes.)"),
            (any(training for _, training in test_calls), "the test batches ran in training mode: call model.eval() "
             "before the evaluation (and model.train() before the next epoch's steps). This model computes the same "
             "either way, one with dropout or batch normalization would not."),
            (any(grad for grad, _ in test_calls), "the evaluation ran with autograd on, which records a graph for "
             "every test batch, memory and time for nothing: evaluate inside `with torch.no_grad():`."),
            (not test_calls, "the model never ran on the test batches; after each epoch, measure the accuracy on "
             "data.test_dataloader()."),
            (len(got) != epochs, f"you returned {len(got)} {'accuracy' if len(got) == 1 else 'accuracies'} for "
             f"{epochs} epochs." + (" You evaluated once, at the end: evaluate after every epoch, inside the epoch "
                                    "loop." if len(got) == 1 else ""))):
        if wrong:
            raise AnswerError(f"train: {why}")
    # What the reader's own parameters at the end of each epoch classify right: the parameters when the
    # next epoch's first step began, and the final ones (history's where the steps were not counted as
    # expected: they agree with the reader's to float32 rounding).
    n = len(data.y_test)
    if len(epoch_ends) >= epochs - 1:
        own = [_accuracy(judge, parameters, data) for parameters in epoch_ends[:epochs - 1] + [yours]]
    else:
        own = [(round(a * n), math.nan) for a in history.eval_acc[:-1]] + [_accuracy(judge, yours, data)]
    counts = [c for c, _ in own]
    fractions = [c / n for c in counts]
    sizes = [len(y) for _, y in data.test_dataloader()]
    tolerance = _LOOP_ACC_TOLERANCE
    for targets, within, mistake in [
            (fractions, tolerance, None),
            ([100 * f for f in fractions], 100 * tolerance, "your accuracies are in percent; return fractions, "
             "correct / number of test images."),
            (counts, 0.5, "you returned numbers of correct predictions; divide by the number of test images (the "
             "sum of len(y) over the test batches)."),
            ([_accuracy(judge, start, data)[0] / n] + fractions[:-1], tolerance, "each accuracy was measured before "
             "its epoch's steps, not after them: evaluate at the end of the epoch."),
            ([mean for _, mean in own], tolerance, f"you averaged the accuracies of the test batches, but they hold "
             f"{sizes} images: the smaller last batch counts as much as a full one. Count the correct predictions "
             "over all test batches and divide by the number of test images.")]:
        if all(abs(g - t) <= within for g, t in zip(got, targets)):
            if mistake is None:
                return steps
            raise AnswerError(f"train: {mistake}")
    epoch = next(i for i, (g, f) in enumerate(zip(got, fractions)) if abs(g - f) > tolerance)
    raise AnswerError(f"train: after epoch {epoch + 1} your test accuracy is {got[epoch]:.6g}, but your parameters "
                      f"at that point classify {counts[epoch]} of the {n} test images right, {counts[epoch]}/{n} = "
                      f"{fractions[epoch]:.6g}. The accuracy is the number of test images whose largest logit is "
                      "the true class, over all of data.test_dataloader(), divided by the number of test images "
                      "(the sum of len(y) over the batches).")


def _accuracies(result: Any, epochs: int) -> list[float]:
    """The reader's returned accuracies as floats, or an :class:`AnswerError` saying what came back instead."""
    if result is None:
        raise AnswerError("train: your function returned None; return the list of test accuracies, one "
                          "per epoch (did it forget a `return`?).")
    if isinstance(result, torch.Tensor) and result.dim() == 1:
        result = result.tolist()
    if isinstance(result, (int, float, torch.Tensor)) and not isinstance(result, bool):
        raise AnswerError(f"train: you returned one number; return a list of {epochs} test accuracies, one "
                          "measured after each epoch.")
    try:
        return [float(v) for v in result]
    except (TypeError, ValueError):
        raise AnswerError(f"train: expected a list of {epochs} test accuracies, got {result!r:.200}") from None
