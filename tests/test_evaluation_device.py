"""Devices: the `device` setting resolved here, worker placement, and the GPU code paths run on
the CPU (no GPU in CI: CUDA calls are recorded, not made)."""

from __future__ import annotations

import argparse

import pytest
import torch

from nnevolve.commands import evolve as evolve_command
from nnevolve.config import ConfigError, EvolveConfig
from nnevolve.datasets import load_dataset
from nnevolve.evaluation import Budget, EvaluationPool
from nnevolve.evaluation import device as device_module
from nnevolve.evaluation import train as train_module
from nnevolve.evaluation.device import (DeviceError, autocast, check_amp, grad_scaler, release,
                                        resolve_devices, timed, to_device, worker_devices)
from nnevolve.evaluation.train import evaluate_variant, failure_reason
from nnevolve.lsp.evolve_request import OVERRIDE_FLAGS
from run_support import NET

FAST = Budget(epochs=1, lr=0.01)


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch):
    """Make torch see ``count`` GPUs."""
    def see(count: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    return see


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_auto_is_the_cpu_without_a_gpu_and_every_gpu_with_them(gpus) -> None:
    gpus(0)
    assert resolve_devices("auto") == ["cpu"]
    gpus(2)
    assert resolve_devices("auto") == resolve_devices("cuda") == ["cuda:0", "cuda:1"]
    assert resolve_devices("cuda:1") == ["cuda:1"]
    assert resolve_devices("cpu") == ["cpu"]


def test_cuda_without_such_a_gpu_is_refused_clearly(gpus) -> None:
    gpus(0)
    with pytest.raises(DeviceError, match="sees no CUDA device"):
        resolve_devices("cuda")
    gpus(2)
    with pytest.raises(DeviceError, match=r"'cuda:2' asked for, but torch sees 2 CUDA devices"):
        resolve_devices("cuda:2")
    with pytest.raises(DeviceError, match="device must be one of"):
        resolve_devices("gpu")


def test_workers_are_placed_per_device() -> None:
    assert worker_devices(["cpu"], cpu_workers=3, per_device=2) == ["cpu"] * 3
    assert worker_devices(["cuda:0", "cuda:1"], cpu_workers=3, per_device=2) == [
        "cuda:0", "cuda:0", "cuda:1", "cuda:1"]


def test_amp_is_refused_on_the_cpu() -> None:
    with pytest.raises(DeviceError, match="amp = true needs a CUDA device"):
        check_amp(True, ["cpu"])
    check_amp(True, ["cuda:0"])
    check_amp(False, ["cpu"])


def test_the_device_and_amp_are_part_of_the_cache_key() -> None:
    keys = {Budget().key(), Budget(device="cuda").key(), Budget(device="cuda", amp=True).key()}
    assert len(keys) == 3
    assert "device" not in Budget().key()  # CPU results cached before devices still count
    with pytest.raises(ValueError, match="device"):
        Budget(device="cuda:0")  # the key holds the kind, not one GPU


def test_a_pool_refuses_a_missing_gpu_and_amp_on_the_cpu_before_starting_workers(gpus) -> None:
    gpus(0)
    with pytest.raises(DeviceError, match="no CUDA device"):
        EvaluationPool("digits", workers=1, device="cuda", wait=False)
    with pytest.raises(DeviceError, match="amp"):
        EvaluationPool("digits", workers=1, device="auto", budget=Budget(amp=True), wait=False)


def test_settings_flags_and_editor_overrides_name_the_device_and_the_cluster() -> None:
    config = EvolveConfig().with_overrides({"device": "cuda:1", "workers_per_device": 2,
                                            "amp": True, "cluster": " tcp://h:8786 "})
    assert (config.device, config.workers_per_device, config.amp, config.cluster) == (
        "cuda:1", 2, True, "tcp://h:8786")
    assert EvolveConfig.from_json(config.to_json()) == config
    assert EvolveConfig().device == "auto" and EvolveConfig().cluster is None
    for bad in ({"device": "gpu"}, {"amp": "yes"}, {"cluster": ""}, {"workers_per_device": 0}):
        with pytest.raises(ConfigError):
            EvolveConfig().with_overrides(bad)
    parser = argparse.ArgumentParser()
    evolve_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["evolve", "m.py", "--device", "cpu", "--workers-per-device", "3",
                              "--no-amp", "--cluster", "tcp://h:1"])
    overrides = evolve_command._overrides(args)
    assert (overrides["device"], overrides["workers_per_device"], overrides["amp"],
            overrides["cluster"]) == ("cpu", 3, False, "tcp://h:1")
    assert OVERRIDE_FLAGS["device"] == "--device" and OVERRIDE_FLAGS["cluster"] == "--cluster"


def test_data_on_a_device_is_used_as_it_is(digits, monkeypatch: pytest.MonkeyPatch) -> None:
    placed = to_device(digits, torch.device("cpu"))
    assert placed.x_train.data_ptr() == digits.x_train.ctypes.data  # the CPU shares the arrays
    expected = evaluate_variant(NET, "Net", digits, FAST)

    def moved_again(*_: object) -> None:
        raise AssertionError("the data was moved again for one variant")

    monkeypatch.setattr(train_module, "to_device", moved_again)
    result = evaluate_variant(NET, "Net", placed, FAST)
    assert result.ok and result.accuracy == expected.accuracy


def test_the_cpu_never_synchronises_cuda(digits, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_cuda(*_: object) -> None:
        raise AssertionError("torch.cuda.synchronize called on the CPU")

    monkeypatch.setattr(torch.cuda, "synchronize", no_cuda)
    monkeypatch.setattr(torch.cuda, "empty_cache", no_cuda)
    assert evaluate_variant(NET, "Net", digits, FAST).latency_ms > 0
    release(torch.device("cpu"))


def test_a_gpu_timer_waits_for_the_device_before_and_after(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    cuda = torch.device("cuda", 1)
    seconds = timed(cuda)(lambda: calls.append("forward"))
    assert calls == [cuda, "forward", cuda] and seconds >= 0


def test_a_gpu_out_of_memory_fails_the_variant_and_frees_the_device(
        monkeypatch: pytest.MonkeyPatch) -> None:
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert failure_reason(error, Budget(memory_mb=512)) == "out of GPU memory (> 512 MB)"
    assert failure_reason(MemoryError(), Budget(memory_mb=512)) == "out of memory (> 512 MB)"
    emptied: list[bool] = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(True))
    release(torch.device("cuda", 0))
    assert emptied == [True]


def test_mixed_precision_is_for_cuda_only() -> None:
    cpu = torch.device("cpu")
    assert not grad_scaler(cpu, True).is_enabled()
    with autocast(cpu, True):
        assert not torch.is_autocast_enabled()
    assert device_module.autocast(cpu, False) is not None


def test_a_gpu_worker_takes_its_gpu_and_caps_its_memory_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from nnevolve.evaluation.device import prepare_device

    calls: dict[str, object] = {}
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.setdefault("set", device))
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda device: SimpleNamespace(total_memory=8 * 2**30))
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction",
                        lambda fraction, device: calls.setdefault("cap", (fraction, device)))
    gpu = torch.device("cuda", 1)
    assert prepare_device("cuda:1", 2048) == gpu
    assert calls == {"set": gpu, "cap": (0.25, gpu)}  # 2048 MB of 8 GiB
    assert prepare_device("cpu", 2048) == torch.device("cpu") and len(calls) == 2
