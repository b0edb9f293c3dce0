"""Checks for the fill-ins of the exercise pages (exercises 1 to 9)."""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Sequence

import torch

from ..validate import one_of, positive_float, positive_int
from .core import AnswerError, _cmp, _number, _Unwritten, answer_check, attempt, check_cases

def train_step_flops(layer_sizes: Sequence[int], batch_size: int) -> int:
    """FLOP of one SGD step as ``FlopCounterMode`` counts it: per layer ``2 b n_in n_out`` forward, as
    much for the weights' gradient and, past the first layer, for the input's gradient."""
    sizes = [positive_int("layer_sizes entry", n) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {list(layer_sizes)!r}")
    b = positive_int("batch_size", batch_size)
    return 3 * _products(sizes, b) - 2 * b * sizes[0] * sizes[1]


def kaiming_std(n_in: int, n_out: int) -> float:
    """He/Kaiming's standard deviation for the weights of a ReLU layer: ``sqrt(2 / n_in)``."""
    positive_int("n_out", n_out)
    return math.sqrt(2 / positive_int("n_in", n_in))


def xavier_std(n_in: int, n_out: int, gain: float = 1.0) -> float:
    """Glorot/Xavier's standard deviation, ``gain * sqrt(2 / (n_in + n_out))`` (xavier_normal_'s)."""
    total = positive_int("n_in", n_in) + positive_int("n_out", n_out)
    return positive_float("gain", gain) * math.sqrt(2 / total)


def _products(sizes: Sequence[int], b: int) -> int:
    return sum(2 * b * i * o for i, o in zip(sizes[:-1], sizes[1:]))


@answer_check
def check_step_flops(yours: Callable[[Sequence[int], int], Any]) -> None:
    """Check the reader's ``train_step_flops(layer_sizes, batch_size)`` against :func:`train_step_flops`."""
    cases = [([784, 256, 10], 256), ([784, 512, 512, 10], 64), ([100, 30, 20, 5], 3)]
    right = train_step_flops
    first = " the gradient of the first layer's input, which nobody computes (the images need none)"
    mistakes = [
        ("you counted the gradient of the first layer's input too, dZ_1 @ W_1^T; nothing before the images "
         "learns, so nobody computes it. Count the input gradient only for the layers after the first.",
         lambda s, b: 3 * _products(s, b)),
        ("you counted the forward pass only; the backward pass adds each layer's weight gradient X^T @ dZ "
         "and, past the first layer, its input gradient dZ @ W^T, each as large again.", _products),
        ("you counted the forward pass and the weights' gradients X^T @ dZ; add each layer's input "
         "gradient dZ @ W^T too, for every layer but the first.", lambda s, b: 2 * _products(s, b)),
        ("you counted the forward pass and the input gradients dZ @ W^T but not the weights' gradients "
         "X^T @ dZ, one per layer as large as its forward product.",
         lambda s, b: 2 * _products(s, b) - 2 * b * s[0] * s[1]),
        ("you counted multiply-adds, not FLOP: every multiply-add is 2 FLOP.", lambda s, b: right(s, b) // 2),
        (f"you counted multiply-adds, not FLOP (each is 2 FLOP), and{first}.",
         lambda s, b: 3 * _products(s, b) // 2),
        ("you counted the forward pass's multiply-adds only: each is 2 FLOP, and the backward pass adds "
         "the weights' and the later layers' input gradients.", lambda s, b: _products(s, b) // 2),
        ("your count does not grow with the batch: every example goes through every product, so multiply "
         "by batch_size.", lambda s, b: right(s, 1)),
        (f"your count does not grow with the batch (multiply by batch_size), and you counted{first}.",
         lambda s, b: 3 * _products(s, 1)),
        ("you counted the forward pass for one example: multiply by the batch size and add the backward "
         "pass.", lambda s, b: _products(s, 1)),
        ("you multiplied all the layer sizes together: sum 2 b n_in n_out over consecutive pairs.",
         lambda s, b: 6 * b * math.prod(s)),
    ]
    check_cases("train_step_flops", yours, cases, train_step_flops, mistakes)


@answer_check
def check_gflop_per_s(yours: Callable[[int, float], Any]) -> None:
    """Check the reader's ``gflop_per_s(n, seconds)`` of an ``n x n`` product: ``2 n^3 / seconds / 10^9``."""
    unit = "a GFLOP is 10^9 FLOP, so divide the FLOP per second by 1e9 {}; use the time in seconds as given."
    mistakes = [
        ("half the reference: n^3 multiply-adds, 2 FLOP each.", lambda n, t: n ** 3 / t / 1e9),
        ("your numbers are 10^9 times too large: that is FLOP/s; divide by 1e9 for GFLOP/s.",
         lambda n, t: 2 * n ** 3 / t),
        ("1000 times too small: " + unit.format("(not 1e12)"), lambda n, t: 2 * n ** 3 / t / 1e12),
        ("1000 times too large: " + unit.format("(not 1e6)"), lambda n, t: 2 * n ** 3 / t / 1e6),
        ("you counted 2 n^2 FLOP: each of the n^2 outputs sums n products, 2 n^3 in all.",
         lambda n, t: 2 * n ** 2 / t / 1e9),
        ("you returned seconds per GFLOP, the inverse: divide the work by the time.",
         lambda n, t: t / (2 * n ** 3 / 1e9)),
    ]
    check_cases("gflop_per_s", yours, [(1024, 0.02), (1025, 0.5), (8, 1e-6), (2048, 0.125)],
                lambda n, t: 2 * n ** 3 / t / 1e9, mistakes)


@answer_check
def check_init_std(name: str, yours: Callable[..., Any]) -> None:
    """Check the reader's ``kaiming_std(n_in, n_out)`` or ``xavier_std(n_in, n_out, gain)`` (``name``)."""
    one_of("check_init_std: name", name, ("kaiming", "xavier"))
    if name == "kaiming":
        check_cases("kaiming_std", yours, [(784, 256), (256, 10), (1024, 1024), (50, 300)], kaiming_std, [
            ("you returned the variance 2 / n_in; take its square root.", lambda i, o: 2 / i),
            ("you used n_out where Kaiming's rule uses n_in, the number of terms summed into each output.",
             lambda i, o: math.sqrt(2 / o)),
            ("you left out the factor 2: ReLU zeroes half of its input, and the 2 makes up for it.",
             lambda i, o: math.sqrt(1 / i)),
            ("you took the square root of the 2 only: sqrt(2 / n_in), not sqrt(2) / n_in.",
             lambda i, o: math.sqrt(2) / i),
            ("that is Xavier's sqrt(2 / (n_in + n_out)); Kaiming's uses n_in alone.",
             lambda i, o: math.sqrt(2 / (i + o))),
        ])
        return
    cases = [(784, 256, 1.0), (256, 10, 1.0), (256, 256, math.sqrt(2)), (100, 300, 5 / 3)]
    check_cases("xavier_std", yours, cases, xavier_std, [
        ("you returned the variance; take its square root.", lambda i, o, g: g * g * 2 / (i + o)),
        ("you returned the variance without the gain; take gain * sqrt(2 / (n_in + n_out)).",
         lambda i, o, g: 2 / (i + o)),
        ("you ignored the gain: multiply the result by it.", lambda i, o, g: math.sqrt(2 / (i + o))),
        ("you multiplied by the gain squared: the gain scales the standard deviation.",
         lambda i, o, g: g * g * math.sqrt(2 / (i + o))),
        ("you left out the factor 2: Xavier's variance is 2 / (n_in + n_out).",
         lambda i, o, g: g * math.sqrt(1 / (i + o))),
        ("you multiplied the fans: Xavier averages them, 2 / (n_in + n_out).",
         lambda i, o, g: g * math.sqrt(2 / (i * o))),
        ("that is Kaiming's sqrt(2 / n_in) (times the gain); Xavier's uses n_in + n_out.",
         lambda i, o, g: g * math.sqrt(2 / i)),
    ])


@answer_check
def check_derivative(name: str, yours: Callable[[torch.Tensor], Any]) -> None:
    """Check the reader's derivative of the activation ``name`` against autograd on ``[-4, 4]``."""
    from ..models import ACTIVATIONS
    activation = ACTIVATIONS[one_of("check_derivative: name", name, ACTIVATIONS)]()
    x = torch.linspace(-4, 4, 81)
    point = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(activation(point).sum(), point)
    s, t, normal = torch.sigmoid(x), torch.tanh(x), torch.distributions.Normal(0.0, 1.0)
    cdf, xpdf = normal.cdf(x), x * normal.log_prob(x).exp()
    mistakes = {"sigmoid": [
        ("you applied s(1 - s) to x itself: s is the sigmoid's output, sigmoid(x).", x * (1 - x)),
        ("you returned 1 - sigmoid(x): the derivative is sigmoid(x) times that.", 1 - s),
        ("1 - sigmoid(x)^2 is tanh's pattern; the sigmoid's derivative is s (1 - s).", 1 - s * s),
        ("you wrote s (1 + s); the derivative is s (1 - s), with a minus.", s * (1 + s)),
    ], "tanh": [
        ("you forgot the square: the derivative is 1 - tanh(x)^2, not 1 - tanh(x).", 1 - t),
        ("you applied 1 - t^2 to x itself: t is tanh(x).", 1 - x * x),
        ("1 + tanh(x)^2 has the wrong sign: the derivative is 1 - tanh(x)^2.", 1 + t * t),
        ("1 / cosh(x) is sech(x); the derivative is its square, 1 - tanh(x)^2.", 1 / torch.cosh(x)),
        ("tanh(x) (1 - tanh(x)) is the sigmoid's pattern; the derivative is 1 - tanh(x)^2.", t * (1 - t)),
    ], "gelu": [
        ("you kept only Phi(x): by the product rule the derivative is Phi(x) + x phi(x).", cdf),
        ("you kept only x phi(x): by the product rule the derivative also has the term Phi(x).", xpdf),
        ("Phi(x) - x phi(x) has the wrong sign: the derivative is Phi(x) + x phi(x).", cdf - xpdf),
    ]}.get(name, [])
    itself = [(f"you returned the activation {name}(x) itself, not its derivative.", activation(x).detach())]
    print(_cmp(f"{name}' (against autograd)", attempt(f"{name}_prime", yours, x), expected,
               mistakes=itself + mistakes))


def _whole(call: str, value: Any) -> int:
    if not _number(call, value, *["a parameter count is one whole number"] * 2).is_integer():
        raise AnswerError(f"{call} returned {value!r}; a parameter count is a whole number.")
    return int(value)


@answer_check
def check_parameter_count(yours: Callable[[int], Any], widths: Sequence[int] = (8, 100, 256, 2048, 1)) -> None:
    """Check ``yours(h)``, the parameter count of a 784-h-10 MLP, against ``DeepMLP((h,))`` built."""
    from ..models import DeepMLP, count_parameters

    multiplied = "you multiplied the layers' sizes: the layers' parameters add up"
    mistakes = [
        ("only the weights: each of the two layers also has a bias vector, b1 with h entries and b2 with 10.",
         lambda h: 784 * h + 10 * h),
        ("the hidden layer's bias b1 (h entries, one per hidden unit) is missing.", lambda h: 784 * h + h * 10 + 10),
        ("the output layer's bias b2 (10 entries, one per class) is missing.", lambda h: 784 * h + h + h * 10),
        ("only the first layer: the second layer (W2, h x 10, and b2, 10) is missing.", lambda h: 784 * h + h),
        ("only the second layer: the first layer (W1, 784 x h, and b1, h) is missing.", lambda h: h * 10 + 10),
        (f"{multiplied}, (784 + 1) h for the first plus (h + 1) 10 for the second.", lambda h: 784 * h * 10),
        (f"{multiplied}.", lambda h: 784 * h * 10 + h + 10),
        (f"{multiplied}.", lambda h: (784 + 1) * (h + 1) * 10),
        ("28 inputs: a flattened 28x28 image has 28 * 28 = 784 features.", lambda h: 28 * h + h + h * 10 + 10),
    ]
    check_cases("mlp_parameters", yours, [(h,) for h in widths], lambda h: count_parameters(DeepMLP((h,))),
                mistakes, value=_whole, same=operator.eq,
                differ=lambda call, got, want: (
                    f"{call} = {got:,}, but the built network has {want:,} parameters (off by {got - want:+,}). "
                    "Count, per layer, the weight matrix (inputs x outputs) and the bias vector (one per output)."),
                tick=f"✓ mlp_parameters: matches the built networks for widths {', '.join(map(str, widths))}")


def _builder_mistake(net: Any, sizes: Sequence[int], X: torch.Tensor) -> str | None:
    """What is wrong with the network ``net`` built for hidden ``sizes`` (None: nothing)."""
    from torch import nn

    from ..models import DeepMLP, count_parameters

    if not isinstance(net, nn.Module):
        return f"returned a {type(net).__name__}; return the network, an nn.Module (e.g. nn.Sequential)."
    try:
        with torch.no_grad():
            out, f0, f2 = net.eval()(X), net(torch.zeros_like(X)), net(-X)  # lazy layers get their shapes
    except RuntimeError as error:
        return (f"the network fails on a batch of shape (3, 1, 28, 28): {error}. Did you start with "
                "nn.Flatten(), so each image becomes a vector of 784?")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (3, 10):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"a batch of 3 images gives output of shape {shape}, expected (3, 10): one logit per class."
    reference = DeepMLP(tuple(sizes))
    leaves = [m for m in net.modules() if not list(m.children())]  # nested blocks unrolled
    want = [(m.in_features, m.out_features) for m in reference.linears]
    got = [(m.in_features, m.out_features) for m in leaves if isinstance(m, nn.Linear)]
    if len(got) != len(want):
        return (f"{len(got)} linear layer(s) {got}, expected {len(want)} {want}: {len(sizes)} hidden "
                f"layer(s) need {len(sizes) + 1} linear layers, one into each hidden layer and one into the "
                "output.")
    for i, ((g_in, g_out), (w_in, w_out)) in enumerate(zip(got, want)):
        if (g_in, g_out) != (w_in, w_out):
            return (f"linear layer {i} maps {g_in} -> {g_out}, expected {w_in} -> {w_out}. The widths are "
                    f"784, then {list(sizes)}, then 10; each layer's input is the previous layer's output.")
    skip = (nn.Flatten, nn.Dropout, nn.Identity)  # neither linear nor an activation
    kinds = "".join("L" if isinstance(m, nn.Linear) else "" if isinstance(m, skip) else "A" for m in leaves)
    if "LL" in kinds:
        j = kinds[:kinds.index("LL")].count("L")
        return (f"linear layers {j} and {j + 1} follow each other with no activation between them, and "
                "two linear layers in a row collapse to one: put an nn.ReLU() after every hidden layer.")
    if kinds.endswith("A"):
        return ("an activation follows the last linear layer; the outputs are logits, which may be negative: "
                "end with the linear layer into the 10 classes.")
    if sizes and torch.allclose(out + f2, 2 * f0, atol=1e-5, rtol=1e-4):
        return ("the network is affine as a whole (f(x) + f(-x) = 2 f(0)), so no activation acts between its "
                "linear layers: use nn.ReLU() there (a Dropout is the identity when the model predicts).")
    if count_parameters(net) != count_parameters(reference):
        return (f"{count_parameters(net):,} parameters, expected {count_parameters(reference):,}. Does every "
                "nn.Linear keep its bias?")
    return None


@answer_check
def check_mlp_builder(yours: Callable[[Sequence[int]], torch.nn.Module],
                      cases: Sequence[Sequence[int]] = ((256,), (204, 204), (256, 128, 100), ())) -> None:
    """Check ``yours(hidden_sizes)`` against :class:`mlp_utils.DeepMLP`: the same linear layers, an
    activation between every two and none after the last, the same parameter count, not affine."""
    name = getattr(yours, "__name__", "your function")
    X = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for sizes in cases:
        call = f"{name}({list(sizes)})"
        why = _builder_mistake(attempt("build_mlp", yours, list(sizes)), sizes, X)
        if why:
            raise AnswerError(f"{call}: {why}")
    print(f"✓ {name}: same layers, shapes and parameter counts as DeepMLP for "
          + ", ".join(str(list(c)) for c in cases))


@answer_check
def check_firing_fractions(yours: Callable[[torch.nn.Module, torch.Tensor], Any], X: torch.Tensor) -> None:
    """Check ``yours(model, X)``, per hidden unit the fraction of the images with z > 0."""
    from ..models import DeepMLP

    name, X = getattr(yours, "__name__", "your function"), X[:500]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        wide, single = DeepMLP((8,)).to(X.device), DeepMLP((1,)).to(X.device)
    with torch.no_grad():
        wide.linears[0].bias.copy_(torch.tensor([-1.0, 1.0, 0.0, -0.05, 0.05, -1.0, 0.0, 0.02]))
        single.linears[0].bias.fill_(-1.0)
    for model, what in ((wide, "a network with 8 hidden units"), (single, "a network with one dead unit")):
        with torch.no_grad():
            fires = model.linears[0](X.flatten(1)) > 0
            expected, n, k = fires.float().mean(dim=0), len(X), fires.shape[1]
            try:
                got = attempt("firing_fractions", yours, model, X)
            except RuntimeError as error:
                if "Bool" not in str(error):
                    raise
                raise AnswerError(f"{name}: torch cannot average booleans (z > 0 is True or False); "
                                  "turn them into numbers first: (z > 0).float().mean(dim=0).") from error
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) and got.shape != expected.shape else None
        why = {(): "a single number", (1,): "a single number",
               (n,): f"shape ({n},), one value per image; average over the images, dim=0, not over the units",
               (10,): "shape (10,), one value per class: you used the output layer; use model.linears[0]"}
        if shape is not None and (shape in why or got.numel() == 1):
            raise AnswerError(f"{name} on {what}: {why.get(shape, why[()])}; return one fraction per hidden "
                              f"unit (shape ({k},)), averaging over the images, dim=0.")
        _cmp(f"{name} on {what}", got, expected, atol=1e-6, rtol=0, mistakes=[
            ("you computed how often each unit is silent (z <= 0), one minus the answer; count the images "
             "with z > 0.", 1 - expected),
            (f"these are counts of images (up to {n}); divide by the number of images to get fractions (or "
             "use .float().mean(dim=0)).", fires.float().sum(dim=0))])
    print(f"✓ {name}: matches the reference on a network with dead, live and always-on units")


_FAILED_CASES: list[tuple[str, list[float], bool, str]] = [
    ("a run that learns", [2.30, 1.9, 1.4, 1.16], False, "the loss ends at 1.16, below ln 10: it learns"),
    ("a spike that recovers", [2.30, 3.3, 2.6, 1.77], False,
     "the loss ends at 1.77, below ln 10: judge by the last loss, not the largest"),
    ("stuck at chance", [2.30, 56.4, 4.1, 2.38], True,
     "the last loss, 2.38, is not below ln 10 = 2.303: the network is no better than a uniform guess"),
    ("overflow to NaN", [2.30, 8.1e3, 2.9e29, math.nan], True,
     "NaN compares False with everything (nan > 2.3 and nan < 2.3): test math.isfinite(loss) first"),
    ("overflow to inf", [2.30, 7.9e31, math.inf], True, "a non-finite loss is a failure (math.isfinite)"),
    ("NaN in the middle", [2.30, math.nan, 1.5], True,
     "once a loss is NaN the parameters are NaN too: any non-finite loss means failure, wherever it is"),
]


@answer_check
def check_failed(yours: Callable[[Sequence[float]], Any]) -> None:
    """Check ``yours(losses)``: True when a loss is not finite or the last is not below ln 10."""
    table = {str(losses): (expected, label, why) for label, losses, expected, why in _FAILED_CASES}

    def boolean(call: str, value: Any) -> bool:
        value = bool(value.item()) if isinstance(value, torch.Tensor) and value.numel() == 1 else value
        if not isinstance(value, bool):
            raise AnswerError(f"failed: returned {value!r} ({type(value).__name__}) for {table[call][1]}; "
                              "return True or False.")
        return value

    check_cases("failed", yours, [(list(losses),) for _, losses, _, _ in _FAILED_CASES],
                lambda losses: table[str(losses)][0], value=boolean, same=operator.eq,
                calls=list(table), differ=lambda call, got, want: (
                    f"failed({call}) = {got}, expected {want} ({table[call][1]}): {table[call][2]}."),
                tick=f"✓ failed: right on all {len(_FAILED_CASES)} cases (learning, a recovered spike, stuck, NaN, inf)")


@answer_check
def check_objective(yours: Callable[..., Any], reference: Callable[..., Any], params: dict[str, Any]) -> None:
    """Check the reader's Optuna ``objective(trial)`` against ``reference`` on trials fixed at ``params``."""
    import optuna

    if not callable(yours):
        raise AnswerError(f"check_objective: pass your objective function itself, got a {type(yours).__name__}")

    def yours_or_pruned(trial: Any) -> Any:  # an unwritten stub ends the trial quietly
        try:
            return attempt("objective", yours, trial, copy=False, returns=False)
        except _Unwritten:
            raise optuna.TrialPruned() from None

    def run(objective: Callable[..., Any], fixed: dict[str, Any]) -> Any:
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        study.enqueue_trial(dict(fixed))
        study.optimize(objective, n_trials=1)
        if study.trials[0].state == optuna.trial.TrialState.PRUNED:
            raise _Unwritten("objective")
        return study.trials[0]

    mine, ref = run(yours_or_pruned, params), run(reference, params)
    _compare_trials(mine, ref, params)
    # every value moved: an objective that ignores a suggestion scores like the reference only by chance
    moved = {name: _another(ref.distributions[name], value) for name, value in params.items()}
    _compare_trials(run(yours_or_pruned, moved), run(reference, moved), moved)
    print(f"✓ objective: suggests {sorted(mine.distributions)} like the space, and scores like the "
          f"reference at two settings ({mine.value:.4f} at the first)")


def _another(distribution: Any, value: Any) -> Any:
    """Another valid value of ``distribution`` than ``value`` (for the second fixed trial)."""
    if hasattr(distribution, "choices"):
        return next(c for c in distribution.choices if c != value)
    low, other = distribution.low, value if value > distribution.low else distribution.high
    if isinstance(low, int):
        return low if value != low else distribution.high
    return math.sqrt(low * other) if distribution.log else (low + other) / 2


def _compare_trials(mine: Any, ref: Any, params: dict[str, Any]) -> None:
    """Raise :class:`AnswerError` naming what differs between two trials at the same ``params``."""
    ours, theirs = set(mine.distributions), set(ref.distributions)
    if ours != theirs:
        raise AnswerError(
            f"objective: your trial suggested {sorted(ours)}, the search space has {sorted(theirs)}; "
            f"missing {sorted(theirs - ours)}, not in the space {sorted(ours - theirs)}. Ask the trial for "
            "each searched setting by its name, e.g. trial.suggest_float('lr', ...).")
    for name, expected in ref.distributions.items():
        if mine.distributions[name] != expected:
            hint = " The learning rate spans two orders of magnitude: sample it with log=True." * (
                getattr(expected, "log", False) and not getattr(mine.distributions[name], "log", False))
            raise AnswerError(f"objective: {name!r} is suggested as {mine.distributions[name]}, the space "
                              f"says {expected}.{hint}")
    if not isinstance(mine.value, (int, float)):
        raise AnswerError(f"objective: it returned {mine.value!r}; return the run's validation accuracy (run.acc)")
    if abs(mine.value - ref.value) > 1e-9:
        raise AnswerError(
            f"objective: at {params} yours scored {mine.value:.4f}, the reference {ref.value:.4f}. "
            "Build Settings from the suggested values plus the space's base settings, train with "
            "mlp_utils.train(settings, data, seed) under the same seed, and return run.acc (the "
            "validation accuracy; never the test set).")
