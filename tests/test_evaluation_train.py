"""What a worker does with one variant, run in this process: build, count, time, train, score."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from nnevolve.datasets import load_dataset
from nnevolve.evaluation import Budget, EvalResult
from nnevolve.evaluation.train import (
    LATENCY_MIN_REPEATS,
    LATENCY_WARMUP,
    build_model,
    count_params,
    evaluate_variant,
    measure_latency,
)
from run_support import NET

MLP = NET + '''
if __name__ == "__main__":
    raise SystemExit("the variant's main block must not run")
'''
FAST = Budget(epochs=2, lr=0.01, max_train_seconds=10)


@pytest.fixture(scope="module")
def digits():
    splits = load_dataset("digits")
    # digits has no test split of its own: borrow the validation split to exercise with_test
    return dataclasses.replace(splits, x_test=splits.x_val[:100], y_test=splits.y_val[:100])


def test_a_good_variant_trains_and_reports_every_measure(digits):
    result = evaluate_variant(MLP, "Net", digits, FAST, seed=0, with_test=True)
    assert result.status == "ok" and result.reason is None
    assert result.accuracy > 0.5
    assert 0.0 <= result.test_accuracy <= 1.0
    model = build_model(MLP, "Net")
    assert result.params == sum(p.numel() for p in model.parameters()) == 64 * 32 + 32 + 32 * 10 + 10
    assert result.latency_ms > 0
    assert 0 < result.train_seconds < result.total_seconds


def test_same_source_and_seed_give_the_same_accuracy(digits):
    first = evaluate_variant(MLP, "Net", digits, FAST, seed=0)
    again = evaluate_variant(MLP, "Net", digits, FAST, seed=0)
    other = evaluate_variant(MLP, "Net", digits, FAST, seed=5)
    assert first.accuracy == again.accuracy
    assert other.accuracy != first.accuracy  # another seed, other initial weights


def test_a_split_seed_redraws_train_and_validation_from_the_same_samples(digits):
    from nnevolve.evaluation.device import redrawn, to_device

    data = to_device(digits, torch.device("cpu"))
    one, again, two = redrawn(data, 1), redrawn(data, 1), redrawn(data, 2)
    assert torch.equal(one.x_val, again.x_val) and torch.equal(one.y_train, again.y_train)
    assert not torch.equal(one.x_val, two.x_val)  # another seed, another validation split
    assert (len(one.y_train), len(one.y_val)) == (len(data.y_train), len(data.y_val))

    def rows(*tensors):
        return sorted(map(bytes, torch.cat(tensors).flatten(1).numpy()))

    # the same samples, dealt out anew; the classes in the same proportions (stratified)
    assert rows(one.x_train, one.x_val) == rows(data.x_train, data.x_val)
    counts = torch.bincount(data.y_val, minlength=10)
    assert (torch.bincount(one.y_val, minlength=10) - counts).abs().max() <= 1
    assert one.x_test is data.x_test  # the test split stays as it is

    split = evaluate_variant(MLP, "Net", digits, FAST, seed=0, split_seed=1)
    assert split.accuracy == evaluate_variant(MLP, "Net", digits, FAST, seed=0,
                                              split_seed=1).accuracy  # reproducible
    assert split.accuracy != evaluate_variant(MLP, "Net", digits, FAST, seed=0).accuracy


class _SlowStart(torch.nn.Module):
    """Its first forwards are slow (one-time costs), later ones fast; it counts its calls."""

    def __init__(self, slow: int) -> None:
        super().__init__()
        self.slow, self.calls = slow, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls <= self.slow:
            import time

            time.sleep(0.05)
        return x


def test_latency_is_timed_after_a_warm_up_to_a_stable_median():
    x = torch.zeros(100, 4)
    model = _SlowStart(slow=LATENCY_WARMUP)
    latency = measure_latency(model, x)
    # the slow first forwards are the warm-up: neither the median nor the spread sees them
    assert latency.median_ms < 5 and latency.spread_ms < 5
    assert LATENCY_MIN_REPEATS <= latency.repeats == model.calls - LATENCY_WARMUP
    # a forward slow all along is measured as such, with its spread
    slow = measure_latency(_SlowStart(slow=10**6), x)
    assert slow.median_ms > 40 and slow.repeats >= LATENCY_MIN_REPEATS


class _Jittery(torch.nn.Module):
    """Forwards that take 1 ms or 8 ms in turn: a median that settles slowly."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        self.calls += 1
        time.sleep(0.001 if self.calls % 2 else 0.008)
        return x


def test_latency_is_timed_to_a_stable_median_only_when_it_is_compared():
    x = torch.zeros(100, 4)
    assert measure_latency(_Jittery(), x).repeats > LATENCY_MIN_REPEATS
    assert measure_latency(_Jittery(), x, precise=False).repeats == LATENCY_MIN_REPEATS
    assert Budget(latency_precise=False).key() != Budget().key()


def test_a_variant_reports_its_latency_spread(digits):
    result = evaluate_variant(MLP, "Net", digits, FAST)
    assert result.latency_spread_ms is not None and 0 <= result.latency_spread_ms < result.latency_ms


def test_test_accuracy_only_when_asked(digits):
    assert evaluate_variant(MLP, "Net", digits, FAST).test_accuracy is None


def test_training_stops_at_the_seconds_cap(digits):
    result = evaluate_variant(MLP, "Net", digits, Budget(epochs=10_000, max_train_seconds=0.3))
    assert result.status == "ok" and 0.3 <= result.train_seconds < 2.0


def test_frozen_parameters_are_not_counted():
    source = MLP.replace("self.net = nn.Sequential(", "self.frozen = nn.Linear(3, 3).requires_grad_(False)\n"
                         "        self.net = nn.Sequential(")
    assert count_params(build_model(source, "Net")) == count_params(build_model(MLP, "Net"))


@pytest.mark.parametrize("source, class_name, reason", [
    (MLP.replace("return self.net(x)", "raise ValueError('boom\\nmore detail')"), "Net",
     "crash: ValueError: boom"),
    (MLP.replace("nn.Linear(32, 10)", "nn.Linear(31, 10)"), "Net",
     "crash: RuntimeError: mat1 and mat2 shapes cannot be multiplied"),
    (MLP, "Missing", "crash: VariantError: the source defines no class or function Missing"),
    (MLP + "\nclass NotAModule:\n    pass\n", "NotAModule", "not a torch.nn.Module"),
    ("def broken(:\n", "Net", "crash: SyntaxError"),
    (MLP.replace("return self.net(x)", "import sys; sys.exit(2)"), "Net", "crash: SystemExit: 2"),
    (MLP.replace("return self.net(x)", "raise MemoryError()"), "Net", "out of memory (> 2048 MB)"),
])
def test_a_failing_variant_gets_a_failed_result_with_its_reason(digits, source, class_name, reason):
    result = evaluate_variant(source, class_name, digits, Budget(epochs=1))
    assert result.status == "failed" and result.accuracy is None
    assert result.reason.startswith(reason) or reason in result.reason
    assert "\n" not in result.reason


def test_variants_do_not_change_the_thread_count_of_later_ones(digits):
    source = MLP.replace("super().__init__()", "super().__init__(); torch.set_num_threads(2)")
    evaluate_variant(source, "Net", digits, Budget(epochs=0))
    evaluate_variant(MLP, "Net", digits, Budget(epochs=0))
    assert torch.get_num_threads() == 1


def test_budget_key_is_stable_and_covers_every_field():
    assert Budget().key() == Budget().key()
    keys = {Budget().key(), Budget(epochs=4).key(), Budget(max_train_seconds=5).key(),
            Budget(batch_size=32).key(), Budget(lr=0.01).key(), Budget(time_limit_s=10).key(),
            Budget(memory_mb=512).key()}
    assert len(keys) == 7
    assert Budget().key() == "v4;epochs=3;max_train_s=20;batch=64;lr=0.001;limit_s=60;memory_mb=2048"


@pytest.mark.parametrize("field, value, message", [
    ("batch_size", 0, "batch_size must be at least 1"),
    ("lr", 0.0, "lr must be positive"),
    ("time_limit_s", -1, "time_limit_s must be positive"),
])
def test_budget_rejects_impossible_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        Budget(**{field: value})


def test_eval_result_round_trips_through_json():
    result = EvalResult.failed("timeout after 60 s", total_seconds=60.2)
    assert EvalResult.from_json(result.to_json()) == result
    assert not result.ok
    assert not result.pool_failure
    stopped = EvalResult.failed("cancelled", pool_failure=True)
    assert EvalResult.from_json(stopped.to_json()) == stopped


def test_eval_result_json_written_before_pool_failures_were_marked_still_reads():
    old = {"status": "ok", "accuracy": 0.9, "test_accuracy": None, "params": 12,
           "latency_ms": 0.1, "train_seconds": 1.0, "total_seconds": 1.2, "reason": None}
    result = EvalResult.from_json(old)
    assert result.ok and result.accuracy == 0.9 and result.pool_failure is False
    assert EvalResult.from_json({"status": "failed"}).reason is None  # other keys: None, as before


def test_a_screening_trains_the_first_share_of_the_steps(digits):
    from nnevolve.evaluation.train import train_model

    def steps(fraction: float) -> int:
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        calls = []
        model.register_forward_hook(lambda *_: calls.append(1))
        x, y = torch.as_tensor(digits.x_train), torch.as_tensor(digits.y_train)
        train_model(model, x, y, FAST, torch.Generator().manual_seed(0), fraction=fraction)
        return len(calls)

    per_epoch = -(-len(digits.y_train) // FAST.batch_size)
    assert steps(1.0) == FAST.epochs * per_epoch
    assert steps(0.25) == -(-FAST.epochs * per_epoch // 4)  # the first quarter: part of epoch 1
    screened = evaluate_variant(MLP, "Net", digits, FAST, seed=0, fraction=0.25)
    full = evaluate_variant(MLP, "Net", digits, FAST, seed=0)
    assert screened.ok and screened.train_cpu_seconds < full.train_cpu_seconds
