"""mlp_utils: the small library behind the course *Implementing Multilayer Perceptrons*.

Data (:class:`FashionMNIST`), models (:class:`MLPScratch`, :class:`MLP`, :class:`DeepMLP`, and
:class:`ManualMLP` with backpropagation by hand), the one :class:`Trainer`, training from
:class:`Settings` over several seeds (:func:`train`, :func:`repeat`, :func:`sweep`,
:func:`compare`), and the checks of the readers' fill-ins (:mod:`mlp_utils.answers`).

The top level exports exactly the names the notebooks import, each notebook in one line
(``from mlp_utils import (...)``). A name is loaded from its module on first use, so importing
the package stays light (the search needs Optuna, the explorers ipywidgets, only when used).
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.1"

# module (relative to this package) -> the names the notebooks import from it
_EXPORTS: dict[str, tuple[str, ...]] = {
    "answers": ("AnswerError", "check_cache_bytes", "check_dead_fraction", "check_derivative",
               "check_failed", "check_firing_fractions", "check_flatten", "check_gflop_per_s",
               "check_init_std", "check_largest_batch", "check_linear", "check_mlp_builder",
               "check_mlp_net", "check_objective", "check_one_example", "check_parameter_count",
               "check_parameters", "check_sgd", "check_sgd_step", "check_sigmoid", "check_squared_error",
               "check_step_flops", "check_train_epoch", "check_training_loop",
               "check_unit_contributions", "cmp", "cmp_linear_grad", "cmp_relu_grad",
               "cmp_softmax_ce_grad", "kaiming_std", "reference_largest_batch", "todo",
               "train_step_flops", "xavier_std"),
    "backprop": ("ManualMLP",),
    "config": ("course_seed",),
    "data": ("CLASS_NAMES", "FashionMNIST"),
    "device": ("describe_device", "pick_device"),
    "diagnostics": ("ActivationStats", "ForgetZeroGrad", "OneBatch", "StepLog", "assert_shape",
                   "examples_touched", "expected_initial_loss", "initial_loss", "plot_histograms"),
    "experiments": ("Group", "RULE", "Results", "Run", "Settings", "check", "compare", "p_text", "repeat",
                   "sweep", "train", "welch"),
    "models": ("ACTIVATIONS", "Classifier", "DeepMLP", "INITIALIZATIONS", "MLP", "MLPScratch",
              "count_parameters", "relu"),
    "playground": ("BoundarySnapshots", "EPOCHS", "Playground", "STATIC_GRID", "draw_boundary",
                  "draw_points", "grid_points", "hidden_layer", "playground_explorer", "playground_model",
                  "plot_contributions", "plot_unit_lines", "repeat_playground", "unit_contributions"),
    "plots": ("LiveCurves", "plot_confusion_matrix", "plot_histories", "show_images"),
    "search": ("SearchSpace", "make_objective"),
    "timing": ("MatmulResult", "PRODUCTS", "compare_times", "describe_memory", "matmul_bytes",
              "matmul_flops", "measure_matmul", "operator_times", "peak_gflop_per_s", "product_share",
              "stream_bandwidth", "time_train_step", "top_other_operator"),
    "trainer": ("Callback", "EpochRecord", "History", "Trainer", "confusion_matrix", "evaluate"),
    "widgets": ("explorer",),
}
# modules the notebooks import by name (``from mlp_utils import backprop``)
_MODULES = {"answers": "answers", "backprop": "backprop", "diagnostics": "diagnostics",
            "models": "models", "plain_python": "answers.plain_python"}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, *_MODULES])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(f".{_MODULES[name]}", __name__)
    elif name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'mlp_utils' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
