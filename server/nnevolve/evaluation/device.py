"""Where variants train: the devices a `device` setting names here, and their use in a worker.

torch is imported inside the functions, so choosing devices costs nothing until it is needed.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnevolve.config import DEVICE_SETTINGS, is_device_setting
from nnevolve.process_context import torch_process_context

if TYPE_CHECKING:
    import torch

    from nnevolve.datasets import DatasetSplits


class DeviceError(ValueError):
    """The device setting cannot be used on this machine (one-line message for the user)."""


def resolve_devices(setting: str) -> list[str]:
    """The devices a setting names on this machine: ``["cpu"]``, every GPU torch sees
    (``cuda``; ``auto`` when there is one) or the one GPU of ``cuda:N``; DeviceError when
    CUDA is asked for and torch sees no such device."""
    if not is_device_setting(setting):
        raise DeviceError(f"device must be one of {DEVICE_SETTINGS}, not {setting!r}")
    if setting == "cpu":
        return ["cpu"]
    # a daemonic process (a Dask worker's) may not start children: it asks torch itself
    if "torch" in sys.modules or multiprocessing.current_process().daemon:
        return _devices_torch_sees(setting)
    # an engine process keeps torch (~300 MB, seconds to import) out: a process forked from
    # the forkserver, which has torch imported, asks it
    with ProcessPoolExecutor(1, mp_context=torch_process_context()) as asker:
        return asker.submit(_devices_torch_sees, setting).result()


def _devices_torch_sees(setting: str) -> list[str]:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpus = [f"cuda:{index}" for index in range(count)]
    if setting == "auto":
        return gpus or ["cpu"]
    if not gpus:
        raise DeviceError(
            f"device '{setting}' asked for, but torch {torch.__version__} sees no CUDA device "
            f"(built for CUDA {torch.version.cuda or 'none'}); set device = \"cpu\" or \"auto\"")
    if setting == "cuda":
        return gpus
    if setting not in gpus:
        raise DeviceError(f"device '{setting}' asked for, but torch sees {count} CUDA "
                          f"device{'s' if count > 1 else ''} ({', '.join(gpus)})")
    return [setting]


def device_kind(devices: list[str]) -> str:
    """``cuda`` or ``cpu``: what the evaluation cache keys on (CPU and GPU results differ)."""
    return "cuda" if devices and devices[0].startswith("cuda") else "cpu"


def worker_devices(devices: list[str], *, cpu_workers: int, per_device: int) -> list[str]:
    """The device of each worker process: ``cpu_workers`` on the CPU, ``per_device`` per GPU."""
    if device_kind(devices) == "cpu":
        return ["cpu"] * cpu_workers
    return [device for device in devices for _ in range(per_device)]


def check_amp(amp: bool, devices: list[str]) -> None:
    """Mixed precision is for CUDA only: refuse it elsewhere rather than silently ignore it."""
    if amp and device_kind(devices) != "cuda":
        raise DeviceError("amp = true needs a CUDA device, and this run trains on the CPU "
                          "(set device = \"cuda\" on a machine with a GPU, or amp = false)")


# --------------------------------------------------------------------------- in a worker

@dataclass(frozen=True)
class TensorSplits:
    """A dataset's splits as tensors on the device a worker trains on (moved there once)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    device: torch.device


def to_device(splits: DatasetSplits, device: torch.device) -> TensorSplits:
    """The splits on ``device``: shared with the arrays on the CPU, copied once to a GPU."""
    import numpy as np
    import torch

    def move(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else torch.from_numpy(np.asarray(array)).to(device)

    x_train, y_train, x_val, y_val = (move(a) for a in (splits.x_train, splits.y_train,
                                                        splits.x_val, splits.y_val))
    assert x_train is not None and y_train is not None and x_val is not None and y_val is not None
    return TensorSplits(x_train, y_train, x_val, y_val, move(splits.x_test), move(splits.y_test),
                        device)


def redrawn(splits: TensorSplits, split_seed: int) -> TensorSplits:
    """The same samples split into training and validation anew with ``split_seed`` (same
    sizes, same device; the test split as it is): copies for the one evaluation that uses them."""
    import numpy as np
    import torch

    from nnevolve.datasets.splits import redraw_indices

    train, val = redraw_indices(splits.y_train.cpu().numpy(), splits.y_val.cpu().numpy(),
                                split_seed)

    def take(first: torch.Tensor, second: torch.Tensor, indices: np.ndarray) -> torch.Tensor:
        # gathered piece by piece: no copy of the whole pool on top of the result
        at = torch.from_numpy(indices).to(splits.device)
        out = first.new_empty((len(at), *first.shape[1:]))
        mask = at < len(first)
        out[mask] = first[at[mask]]
        out[~mask] = second[at[~mask] - len(first)]
        return out

    return TensorSplits(take(splits.x_train, splits.x_val, train),
                        take(splits.y_train, splits.y_val, train),
                        take(splits.x_train, splits.x_val, val),
                        take(splits.y_train, splits.y_val, val),
                        splits.x_test, splits.y_test, splits.device)


def prepare_device(device: str, memory_mb: int) -> torch.device:
    """Make ``device`` this worker's and cap its share of GPU memory at ``memory_mb``."""
    import torch

    target = torch.device(device)
    if target.type == "cuda":
        torch.cuda.set_device(target)
        total_mb = torch.cuda.get_device_properties(target).total_memory / 2**20
        # a variant past the cap gets CUDA's out-of-memory error, not its neighbours' memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, memory_mb / total_mb), target)
    return target


def synchronizer(device: torch.device) -> Callable[[], None]:
    """Waits for the device's queued work, so a timer measures the work itself (CUDA runs
    asynchronously); a no-op on the CPU."""
    if device.type != "cuda":
        return _nothing
    import torch

    return lambda: torch.cuda.synchronize(device)


def timed(device: torch.device) -> Callable[[Callable[[], object]], float]:
    """A timer of one call on ``device``, synchronised before and after it."""
    sync = synchronizer(device)

    def run(call: Callable[[], object]) -> float:
        sync()
        start = time.perf_counter()
        call()
        sync()
        return time.perf_counter() - start

    return run


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[object]:
    """Mixed precision on CUDA when asked (bfloat16 where the GPU has it, else float16)."""
    if not amp or device.type != "cuda":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cuda", dtype=amp_dtype())


def amp_dtype() -> torch.dtype:
    import torch

    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """Scales float16 losses so small gradients survive; disabled (a pass-through) otherwise."""
    import torch

    enabled = amp and device.type == "cuda" and amp_dtype() == torch.float16
    return torch.amp.GradScaler("cuda" if device.type == "cuda" else "cpu", enabled=enabled)


def is_gpu_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "cuda out of memory" in str(exc).lower())


def release(device: torch.device) -> None:
    """Give a failed variant's GPU memory back, so the next variant on this device has it."""
    if device.type != "cuda":
        return
    import torch

    gc.collect()  # the variant's tensors may sit in reference cycles (its module, a traceback)
    torch.cuda.empty_cache()


def _nothing() -> None:
    return None
