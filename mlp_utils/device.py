"""Choosing the device every tensor of the course lives on (PyTorch's ``torch.accelerator``)."""
from __future__ import annotations

import torch


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device``, or with ``None`` the machine's accelerator else the CPU; one it lacks is a ValueError."""
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if device is None:
        return accelerator if accelerator is not None else torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device={device!r} is not a device name; use 'cpu', 'cuda', 'cuda:0' or 'mps', "
                         "or leave it as None to pick one automatically") from error
    # "meta" holds shapes without data (chapter 9 counts bytes on it): every machine has it
    if chosen.type not in ("cpu", "meta") and (accelerator is None or accelerator.type != chosen.type):
        have = f"its accelerator is {accelerator.type!r}" if accelerator is not None else "it has no accelerator"
        raise ValueError(f"device={device!r} was requested but this machine cannot run on it ({have}); "
                         "pass device=None (or 'cpu') to run on what is available")
    return chosen


def describe_device(device: torch.device) -> str:
    """A one-line human description of ``device`` (GPU name, or CPU thread count)."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} thread{'' if torch.get_num_threads() == 1 else 's'})"
    return str(device)
