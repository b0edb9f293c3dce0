"""Checks for the reader's own code (:func:`~mlp_utils.answers.core.cmp` and one module per part of
the course: chapters, plain_python, backprop, playground, debugging, memory, exercises)."""
from .core import AnswerError, NotWritten, answer_check, attempt, cmp, todo
from .exercises import (
    check_derivative, check_failed, check_firing_fractions, check_gflop_per_s, check_init_std,
    check_mlp_builder, check_objective, check_parameter_count, check_step_flops, kaiming_std,
    train_step_flops, xavier_std)
from .backprop import cmp_linear_grad, cmp_relu_grad, cmp_softmax_ce_grad
from .chapters import (
    check_cache_bytes, check_flatten, check_mlp_net, check_parameters, check_sgd_step, check_training_loop,
    class_means)
from .debugging import check_dead_fraction
from .memory import check_largest_batch, reference_largest_batch
from .playground import check_unit_contributions
from .plain_python import (
    check_linear, check_one_example, check_sgd, check_sigmoid, check_squared_error, check_train_epoch)
