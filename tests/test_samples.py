"""The bundled seed networks: importable, constructible with no arguments, trainable on digits."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from nnevolve.analysis import analyze

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NETWORKS = {
    "fcn.py": "FCN",
    "convnet_small.py": "SmallConvNet",
    "convnet_large.py": "LargeConvNet",
    "layers_append.py": "AppendNet",
}


def load(file: str) -> type:
    spec = importlib.util.spec_from_file_location(f"nnevolve_sample_{file[:-3]}", SAMPLES / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, NETWORKS[file])


@pytest.fixture(scope="module")
def digits():
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.images[:, None] / 16.0, dtype=torch.float32)
    return x, torch.tensor(data.target)


@pytest.mark.parametrize("file", sorted(NETWORKS))
def test_first_line_says_which_input_the_network_expects(file: str):
    first = (SAMPLES / file).read_text(encoding="utf-8").splitlines()[0]
    assert re.fullmatch(r"# Input: \(N, 1, 8, 8\) .*; output: \(N, 10\) class logits\.", first)


@pytest.mark.parametrize("file", sorted(NETWORKS))
def test_sample_builds_with_no_arguments_and_maps_digits_to_ten_logits(file: str):
    torch = pytest.importorskip("torch")
    network = load(file)()
    assert network(torch.zeros(4, 1, 8, 8)).shape == (4, 10)
    assert sum(p.numel() for p in network.parameters()) < 30_000  # trains in well under 1 s/epoch


@pytest.mark.parametrize("file", sorted(NETWORKS))
def test_sample_learns_digits_in_two_epochs(file: str, digits):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x, y = digits
    network = load(file)()
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steady on a shared 2-core machine
    try:
        for _ in range(2):
            for i in range(0, len(x), 64):
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(network(x[i : i + 64]), y[i : i + 64])
                loss.backward()
                optimizer.step()
        network.eval()
        with torch.no_grad():
            accuracy = (network(x).argmax(1) == y).float().mean().item()
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 0.5  # chance is 0.1


@pytest.mark.parametrize("file", sorted(NETWORKS))
def test_sample_layers_are_line_typed(file: str):
    analysis = analyze((SAMPLES / file).read_text(encoding="utf-8"))
    types = {item.type for item in analysis.items}
    assert analysis.error is None
    assert {"connection", "activation"} <= types


def test_append_sample_is_in_the_layers_append_style():
    source = (SAMPLES / "layers_append.py").read_text(encoding="utf-8")
    assert "self.network = nn.Sequential(*layers)" in source
    appended = [
        i for i in analyze(source).items if "layers.append(" in source.splitlines()[i.line - 1]
    ]
    assert len(appended) >= 6


def test_sample_project_configuration_loads():
    from nnevolve.config import load_config

    config = load_config(SAMPLES / "convnet_small.py")
    assert config.dataset == "digits"
    assert config.root == SAMPLES
    assert (config.generations, config.population, config.epochs) == (8, 8, 5)
