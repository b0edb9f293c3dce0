"""mlp_utils: the small library behind the course *Implementing Multilayer Perceptrons*.

Data (:class:`FashionMNIST`), models (:class:`MLPScratch`, :class:`MLP`), the
:class:`Trainer`, and the plots, widgets, sweeps and timers the notebooks share.
"""
from .data import CLASS_NAMES, FashionMNIST, FashionMNISTError
from .device import describe_device, pick_device
from .models import MLP, Classifier, MLPScratch, relu
from .train import EpochRecord, History, Trainer, confusion_matrix, evaluate

__all__ = [
    "CLASS_NAMES", "Classifier", "EpochRecord", "FashionMNIST", "FashionMNISTError", "History",
    "MLP", "MLPScratch", "Trainer", "confusion_matrix", "describe_device", "evaluate",
    "pick_device", "relu",
]
__version__ = "0.1.0"
