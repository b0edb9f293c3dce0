"""mlp_utils: the small library behind the course *Implementing Multilayer Perceptrons*.

Data (:class:`FashionMNIST`), models (:class:`MLPScratch`, :class:`MLP`, :class:`DeepMLP`, and
:class:`ManualMLP` with backpropagation by hand), the one :class:`Trainer`, and training from
:class:`Settings` over several seeds (:mod:`mlp_utils.experiments`).
"""
from .answers import AnswerError, cmp, todo
from .backprop import ManualMLP
from .config import budget, course_seed
from .data import CLASS_NAMES, FashionMNIST, FashionMNISTError
from .device import describe_device, pick_device
from .experiments import RULE, Settings, check, compare, repeat, sweep, train
from .models import MLP, Classifier, DeepMLP, MLPScratch, count_parameters, relu
from .trainer import Callback, History, Trainer, confusion_matrix, evaluate

__all__ = [
    "AnswerError", "CLASS_NAMES", "RULE", "Callback", "Classifier", "DeepMLP", "FashionMNIST", "FashionMNISTError",
    "History", "MLP", "MLPScratch", "ManualMLP", "Settings", "Trainer", "budget", "check", "cmp", "compare",
    "confusion_matrix", "count_parameters", "course_seed", "describe_device", "evaluate",
    "pick_device", "relu", "repeat", "sweep", "todo", "train",
]
__version__ = "0.3.0"
