"""mnist / fashion-mnist / cifar10 through torchvision, on small files written in torchvision's format.

No network: the files are where torchvision looks after a download, so ``download=True``
finds them and downloads nothing. MNIST-style sets need no patching (torchvision only
checks that the raw files exist). CIFAR-10 checks the md5 of every batch file, so the test
replaces those md5s with None (file must exist) — in this test only.
"""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import torchvision.datasets

from nnevolve.datasets import DatasetError, default_data_dir, load_dataset


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist_raw(root, folder, n_train=50, n_test=20):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)


@pytest.mark.parametrize("spec, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_style_sets_read_torchvision_raw_files(tmp_path, spec, folder):
    _write_mnist_raw(tmp_path, folder)
    splits = load_dataset(spec, data_dir=tmp_path)
    assert splits.input_shape == (1, 28, 28) and splits.num_classes == 10
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (40, 10, 20)
    assert splits.x_train.dtype == np.float32 and splits.x_train.max() <= 1.0


def test_cifar10_reads_the_pickled_batches(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        # torchvision's layout: 3072 bytes per image, the red plane first
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        with open(folder / name, "wb") as out:
            pickle.dump(batch, out)
    with open(folder / "batches.meta", "wb") as out:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, out)
    cifar = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cifar, "train_list", [[n, None] for n in names[:5]])
    monkeypatch.setattr(cifar, "test_list", [["test_batch", None]])
    monkeypatch.setattr(cifar, "meta", {**cifar.meta, "md5": None})

    splits = load_dataset("cifar10", data_dir=tmp_path)
    assert splits.input_shape == (3, 32, 32) and splits.num_classes == 4
    assert len(splits.y_train) + len(splits.y_val) == 20 and len(splits.y_test) == 4
    # the red plane of the first test image is its first 1024 bytes
    with open(folder / "test_batch", "rb") as f:
        first = pickle.load(f)["data"][0]
    np.testing.assert_allclose(splits.x_test[0, 0].ravel(), first[:1024] / 255.0, rtol=1e-6)


def test_missing_download_is_a_one_line_dataset_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried http://...")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert f"could not load mnist into {tmp_path}" in message
    assert str(tmp_path / "MNIST" / "raw") in message


def test_default_data_dir_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "nnevolve" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir().parts[-3:] == (".cache", "nnevolve", "data")
