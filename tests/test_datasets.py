"""Dataset loaders on small files the tests write themselves, and the split rules."""

from __future__ import annotations

import gzip
import struct
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnevolve.datasets import DatasetError, DatasetSplits, load_dataset


def write_idx(path: Path, array: np.ndarray, *, compress: bool = False) -> Path:
    """Write ``array`` (uint8) in the MNIST idx format."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def fake_images(n: int, *, shape: tuple[int, ...] = (28, 28), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


# ------------------------------------------------------------------ digits


def test_digits_is_the_offline_default_scaled_to_unit_range():
    splits = load_dataset("digits")
    assert splits.input_shape == (1, 8, 8) and splits.num_classes == 10
    assert len(splits.y_train) + len(splits.y_val) == 1797
    assert len(splits.y_val) == round(1797 * 0.2)
    assert splits.x_train.dtype == np.float32 and splits.y_train.dtype == np.int64
    assert 0.0 <= splits.x_train.min() and splits.x_train.max() == pytest.approx(1.0)
    assert splits.x_test is None and splits.y_test is None
    # stratified: every class appears in the validation split
    assert set(splits.y_val.tolist()) == set(range(10))


def test_splits_are_deterministic_for_a_seed_and_differ_between_seeds():
    first, again, other = load_dataset("digits"), load_dataset("digits"), load_dataset("digits", seed=1)
    assert np.array_equal(first.x_val, again.x_val) and np.array_equal(first.y_train, again.y_train)
    assert first.fingerprint == again.fingerprint
    assert not np.array_equal(first.y_val, other.y_val)
    assert first.fingerprint != other.fingerprint


def test_max_train_and_max_val_limit_the_split_sizes_and_change_the_fingerprint():
    full = load_dataset("digits")
    small = load_dataset("digits", max_train=100, max_val=50)
    assert (len(small.y_train), len(small.y_val)) == (100, 50)
    assert small.x_train.shape == (100, 1, 8, 8)
    assert small.fingerprint != full.fingerprint
    assert "100 train / 50 val" in small.describe()


def test_val_fraction_sets_the_validation_share():
    splits = load_dataset("digits", val_fraction=0.5)
    assert abs(len(splits.y_val) - len(splits.y_train)) <= 1


# ------------------------------------------------------------------ idx


def test_idx_folder_with_train_and_t10k_files_gives_a_test_split(tmp_path):
    x, y = fake_images(60)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y, compress=True)
    xt, yt = fake_images(20, seed=1)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", xt)  # uncompressed works too
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", yt)
    splits = load_dataset(f"idx:{tmp_path}")
    assert splits.input_shape == (1, 28, 28) and splits.num_classes == 10
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (48, 12, 20)
    np.testing.assert_allclose(splits.x_test[:, 0], xt / 255.0, rtol=1e-6)
    assert np.array_equal(splits.y_test, yt)
    # every training image is one of the written ones, scaled to [0, 1]
    written = {row.tobytes() for row in x}
    assert all((np.round(s[0] * 255).astype(np.uint8)).tobytes() in written for s in splits.x_train)


def test_idx_folder_with_only_t10k_files_carves_train_and_validation_from_them(tmp_path):
    x, y = fake_images(100)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", x, compress=True)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y, compress=True)
    splits = load_dataset(f"idx:{tmp_path}", max_train=60, max_val=15)
    assert (len(splits.y_train), len(splits.y_val)) == (60, 15)
    assert splits.x_test is None


def test_idx_errors_are_one_line_messages(tmp_path):
    with pytest.raises(DatasetError, match=r"has no idx files \(expected train-images-idx3-ubyte"):
        load_dataset(f"idx:{tmp_path}")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"idx:{tmp_path / 'missing'}")
    x, _ = fake_images(10)
    write_idx(tmp_path / "train-images-idx3-ubyte", x)
    with pytest.raises(DatasetError, match="no train-labels-idx1-ubyte"):
        load_dataset(f"idx:{tmp_path}")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0a\x01\x02")
    with pytest.raises(DatasetError, match="not a valid idx file"):
        load_dataset(f"idx:{tmp_path}")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"PK not idx")
    with pytest.raises(DatasetError, match="bad magic number"):
        load_dataset(f"idx:{tmp_path}")


# ------------------------------------------------------------------ npz


def test_npz_images_get_a_channel_axis_and_a_test_split(tmp_path):
    x, y = fake_images(40, shape=(6, 6))
    xt, yt = fake_images(10, shape=(6, 6), seed=2)
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=xt, y_test=yt)
    splits = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    assert splits.input_shape == (1, 6, 6)
    assert splits.x_train.max() <= 1.0 and splits.x_train.dtype == np.float32
    assert len(splits.y_test) == 10


def test_npz_flat_features_stay_flat_and_string_labels_are_encoded(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5)).astype(np.float64)
    y = np.array(["cat", "dog", "owl"] * 10)
    np.savez(tmp_path / "flat.npz", x=x, y=y)
    splits = load_dataset(f"npz:{tmp_path / 'flat.npz'}")
    assert splits.input_shape == (5,) and splits.num_classes == 3
    assert splits.x_test is None
    # float features are kept as they are, not rescaled
    seen = np.concatenate([splits.x_train, splits.x_val]).ravel()
    np.testing.assert_allclose(np.sort(seen), np.sort(x.astype(np.float32).ravel()))


def test_npz_channels_last_images_become_channels_first(tmp_path):
    x = np.zeros((20, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "rgb.npz", x=x, y=np.arange(20) % 2)
    assert load_dataset(f"npz:{tmp_path / 'rgb.npz'}").input_shape == (3, 8, 8)


def test_npz_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")
    np.savez(tmp_path / "no_y.npz", x=np.zeros((4, 2)))
    with pytest.raises(DatasetError, match=r"has no array y \(found: x\)"):
        load_dataset(f"npz:{tmp_path / 'no_y.npz'}")
    np.savez(tmp_path / "mismatch.npz", x=np.zeros((4, 2)), y=np.zeros(3))
    with pytest.raises(DatasetError, match="4 samples but 3 labels"):
        load_dataset(f"npz:{tmp_path / 'mismatch.npz'}")
    np.savez(tmp_path / "soft.npz", x=np.zeros((4, 2)), y=np.array([0.5, 1, 0, 1]))
    with pytest.raises(DatasetError, match="non-integer value 0.5"):
        load_dataset(f"npz:{tmp_path / 'soft.npz'}")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DatasetError, match="not a readable .npz file"):
        load_dataset(f"npz:{tmp_path / 'text.npz'}")


# ------------------------------------------------------------------ image folders


def _write_image(path: Path, size: tuple[int, int], mode: str, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color=value if mode == "L" else (value, 0, 255 - value)).save(path)


def test_image_folder_keeps_the_native_size_and_reads_grey_as_one_channel(tmp_path):
    for cls, value in (("a", 10), ("b", 200)):
        for i in range(5):
            _write_image(tmp_path / cls / f"{i}.png", (7, 5), "L", value)
    splits = load_dataset(f"folder:{tmp_path}")
    assert splits.input_shape == (1, 5, 7) and splits.num_classes == 2
    # class folders are sorted: "a" (dark) is class 0, "b" (bright) class 1
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    assert np.allclose(x[y == 0], 10 / 255) and np.allclose(x[y == 1], 200 / 255)


def test_image_folder_resizes_to_the_first_image_and_uses_rgb_when_any_image_is_colour(tmp_path):
    _write_image(tmp_path / "a" / "0.png", (6, 6), "RGB", 50)
    _write_image(tmp_path / "a" / "1.png", (12, 9), "L", 50)
    _write_image(tmp_path / "b" / "0.png", (6, 6), "RGB", 150)
    _write_image(tmp_path / "b" / "1.png", (3, 3), "RGB", 150)
    splits = load_dataset(f"folder:{tmp_path}")
    assert splits.input_shape == (3, 6, 6)


def test_image_folder_with_train_and_test_subfolders_gives_a_test_split(tmp_path):
    for part, count in (("train", 4), ("test", 2)):
        for cls in ("cat", "dog"):
            for i in range(count):
                _write_image(tmp_path / part / cls / f"{i}.png", (4, 4), "L", 1)
    splits = load_dataset(f"folder:{tmp_path}")
    assert len(splits.y_train) + len(splits.y_val) == 8 and len(splits.y_test) == 4


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'none'}")
    with pytest.raises(DatasetError, match="class folder"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot read image"):
        load_dataset(f"folder:{tmp_path}")


# ------------------------------------------------------------------ module:pkg.mod:callable


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's dataset module on sys.path, as a project would have it."""
    (tmp_path / "my_data.py").write_text(textwrap.dedent('''
        import numpy as np
        import torch
        from torch.utils.data import Dataset, TensorDataset

        class Squares(Dataset):
            def __len__(self):
                return 12
            def __getitem__(self, i):
                return torch.full((1, 3, 3), float(i % 3)), i % 3

        def arrays():
            x = np.arange(40 * 4, dtype=np.float32).reshape(40, 4)
            return (x, np.arange(40) % 4), None

        def datasets():
            test = TensorDataset(torch.zeros(6, 1, 3, 3), torch.arange(6) % 3)
            return Squares(), test

        def broken():
            raise OSError("disk on fire\\nsecond line")

        def wrong():
            return 42
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_data"
    sys.modules.pop("my_data", None)


def test_module_callable_returning_arrays(user_module):
    splits = load_dataset(f"module:{user_module}:arrays")
    assert splits.input_shape == (4,) and splits.num_classes == 4 and splits.x_test is None


def test_module_callable_returning_torch_datasets(user_module):
    splits = load_dataset(f"module:{user_module}:datasets")
    assert splits.input_shape == (1, 3, 3) and splits.num_classes == 3
    assert len(splits.y_test) == 6
    # each sample is filled with its own label
    assert np.allclose(splits.x_train[:, 0, 0, 0], splits.y_train)


def test_module_errors_name_the_problem(user_module):
    with pytest.raises(DatasetError, match=r"failed: OSError: disk on fire$"):
        load_dataset(f"module:{user_module}:broken")
    with pytest.raises(DatasetError, match=r"must return \(train, test\), got int"):
        load_dataset(f"module:{user_module}:wrong")
    with pytest.raises(DatasetError, match="has no callable missing"):
        load_dataset(f"module:{user_module}:missing")
    with pytest.raises(DatasetError, match="cannot import no_such_module"):
        load_dataset("module:no_such_module:make")


# ------------------------------------------------------------------ specs


@pytest.mark.parametrize("spec, message", [
    ("imagenet", "unknown dataset 'imagenet': use digits, mnist"),
    ("npz:", "needs a value after 'npz:'"),
    ("digits:extra", "unknown dataset"),
])
def test_bad_specs_get_a_clear_message(spec, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset(spec)


def test_bad_split_settings_are_dataset_errors():
    with pytest.raises(DatasetError, match="val_fraction must be between 0 and 1"):
        load_dataset("digits", val_fraction=1.0)
    with pytest.raises(DatasetError, match="max_train must be at least 1"):
        load_dataset("digits", max_train=0)


def test_dataset_splits_is_the_public_type():
    assert isinstance(load_dataset("digits", max_train=10, max_val=10), DatasetSplits)
