"""What one evaluation may spend (Budget) and what it measured (EvalResult)."""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

# bump when the way results are measured changes, so cached results are not reused
PROTOCOL_VERSION = 4  # 2: latency timed on the validation pass; 3: warm-up, repeats to a
# stable median; 4: variants train with the recipe written in their code


@dataclass(frozen=True)
class Budget:
    """The fixed training budget and the limits every variant is evaluated under."""

    epochs: int = 3
    max_train_seconds: float = 20.0
    batch_size: int = 64
    lr: float = 1e-3
    time_limit_s: float = 60.0  # whole evaluation, build → accuracy
    memory_mb: int = 2048  # cap per worker beyond its idle size (host memory, and GPU memory on CUDA)
    device: str = "cpu"  # the kind of device variants train on: "cpu" or "cuda"
    amp: bool = False  # mixed precision (CUDA only)
    # the project's training script (``train_file``): its recipe trains variants whose own
    # file writes none
    train_source: str = ""
    # latency timed until its median is stable; a quick median when latency is no objective
    latency_precise: bool = True

    def __post_init__(self) -> None:
        checks = [("epochs", self.epochs >= 0, "0 or more"),
                  ("max_train_seconds", self.max_train_seconds > 0, "positive"),
                  ("batch_size", self.batch_size >= 1, "at least 1"),
                  ("lr", self.lr > 0, "positive"),
                  ("time_limit_s", self.time_limit_s > 0, "positive"),
                  ("memory_mb", self.memory_mb >= 1, "at least 1"),
                  ("device", self.device in ("cpu", "cuda"), "cpu or cuda")]
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"budget {name} must be {rule}, got {getattr(self, name)!r}")

    def key(self) -> str:
        """A stable string for the result cache: every field plus the measuring protocol.

        The limits are part of it because a result may be a failure that they caused.
        """
        key = (f"v{PROTOCOL_VERSION};epochs={self.epochs};max_train_s={self.max_train_seconds:g};"
               f"batch={self.batch_size};lr={self.lr:g};limit_s={self.time_limit_s:g};"
               f"memory_mb={self.memory_mb}")
        # CPU keys stay as they were, so results cached before devices existed still count
        if self.device != "cpu":
            key += f";device={self.device}"
        if self.train_source:
            digest = hashlib.sha256(self.train_source.encode("utf-8", "surrogatepass")).hexdigest()
            key += f";train={digest[:16]}"
        key += ";amp" if self.amp else ""
        return key + ("" if self.latency_precise else ";latency=quick")


def timeout_reason(limit_s: float) -> str:
    return f"timeout after {limit_s:g} s"


def is_timeout(reason: str | None) -> bool:
    """A time-limit failure: it depends on the machine's load, so it is not a lasting verdict."""
    return (reason or "").startswith("timeout after ")


@dataclass
class EvalResult:
    """The measurements of one variant, or why it could not be measured."""

    status: str  # "ok" | "failed"
    accuracy: float | None  # validation accuracy in [0, 1]
    test_accuracy: float | None
    params: int | None  # trainable parameters
    latency_ms: float | None  # median forward time of a batch of 32 (eval mode, after warm-up)
    train_seconds: float  # time spent in the training loop
    total_seconds: float  # wall time of the whole evaluation
    reason: str | None  # "timeout after 60 s", "out of memory (> 2048 MB)", "crash: ..."
    # the pool, not the variant, failed (workers that cannot start, a stopped or closed pool):
    # says nothing about the variant, so it is never cached
    pool_failure: bool = False
    latency_spread_ms: float | None = None  # robust std of the timed forwards behind latency_ms
    # CPU time of the training loop (None on a GPU): its work, whatever the machine's load
    train_cpu_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def failed(cls, reason: str, *, total_seconds: float = 0.0, train_seconds: float = 0.0,
               params: int | None = None, pool_failure: bool = False) -> EvalResult:
        """A failed evaluation with its reason."""
        return cls(status="failed", accuracy=None, test_accuracy=None, params=params,
                   latency_ms=None, train_seconds=train_seconds, total_seconds=total_seconds,
                   reason=reason, pool_failure=pool_failure)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalResult:
        """The inverse of :meth:`to_json`; a missing key is None, or its default where it has one."""
        defaults: dict[str, Any] = {
            f.name: None if f.default is MISSING else f.default for f in fields(cls)
        }
        return cls(**{name: data.get(name, default) for name, default in defaults.items()})
