"""The evaluation backend of a run: the local worker pool, or a Dask cluster when one is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnevolve.evaluation.pool import EvaluationPool

if TYPE_CHECKING:
    from nnevolve.config import EvolveConfig
    from nnevolve.evaluation.budget import Budget
    from nnevolve.evaluation.dask_backend import DaskEvaluationPool


def open_backend(config: EvolveConfig, budget: Budget, *,
                 wait: bool = False) -> EvaluationPool | DaskEvaluationPool:
    """Start the pool that evaluates ``config``'s variants. Its ``budget`` is ``budget`` with
    the device kind the workers train on (the cache key). Raises DatasetError, DeviceError,
    or WorkerStartError (ClusterError: an unreachable or unusable cluster)."""
    if config.cluster is not None:
        from nnevolve.evaluation.dask_backend import DaskEvaluationPool

        return DaskEvaluationPool(config.cluster, config.dataset_spec, budget=budget,
                                  seed=config.seed, data_dir=config.data_path,
                                  max_train=config.max_train, max_val=config.max_val,
                                  device=config.device,
                                  workers_per_device=config.workers_per_device, wait=wait)
    return EvaluationPool(config.dataset_spec, workers=config.workers, budget=budget,
                          seed=config.seed, data_dir=config.data_path,
                          max_train=config.max_train, max_val=config.max_val, wait=wait,
                          device=config.device, workers_per_device=config.workers_per_device)
