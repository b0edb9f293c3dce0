"""Choosing the device every tensor of the course lives on."""
from __future__ import annotations

import torch

__all__ = ["pick_device", "describe_device"]


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    With ``device=None`` the fastest available one is chosen: CUDA, then Apple's MPS,
    then the CPU. A string such as ``"cpu"`` or ``"cuda:0"`` forces a device; asking for
    one that this machine does not have raises a ``ValueError`` that says so.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device={device!r} is not a device name; use 'cpu', 'cuda', 'cuda:0' or 'mps', "
            "or leave it as None to pick one automatically"
        ) from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but this machine has no CUDA GPU; "
            "pass device=None (or 'cpu') to run on what is available"
        )
    if chosen.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} was requested but Apple's MPS backend is not available here; "
                "pass device=None (or 'cpu')"
            )
    return chosen


def describe_device(device: torch.device) -> str:
    """A one-line human description of ``device`` (GPU name, or CPU thread count)."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return f"cpu ({threads} thread{'' if threads == 1 else 's'})"
    return str(device)
