"""Already-optimized code: the network definitions of an installed model zoo (torchvision's
model sources), found at run time, as typed lines and multi-line blocks with their provenance.

A block is a run of layers as a zoo network writes them in one ``nn.Sequential`` or list
literal: a connection layer and the normalization, activation and pooling layers after it
(AlexNet's ``Conv2d → ReLU → MaxPool2d``). Only self-contained lines count (those that need
names of their file are left out, as for single genes).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nnevolve.analysis import Analysis, analyze
from nnevolve.genome.walk import SourceText, ast_range
from nnevolve.user_cache import user_cache_dir

ZOO_PREFIX = "zoo:"  # origins of zoo genes: "zoo:torchvision resnet.py"
# bump when what a harvest yields changes: a cached harvest of older code is read again
HARVEST_FORMAT = 3
BLOCK_TYPES = frozenset({"normalization", "activation", "pooling", "dropout"})  # after the layer
MAX_BLOCK = 6  # layers in a block, the connection layer included
MAX_ZOO_FILES = 300  # files read of a package without a models/ folder
MAX_ZOO_BYTES = 512_000


def zoo_origin(package: str, file: str) -> str:
    return f"{ZOO_PREFIX}{package} {file}"


def provenance(origin: str) -> str | None:
    """``from torchvision resnet.py`` for a zoo gene's origin; None for other origins."""
    return f"from {origin[len(ZOO_PREFIX):]}" if origin.startswith(ZOO_PREFIX) else None


@dataclass(frozen=True)
class ZooHarvest:
    """What a zoo's network definitions give: (code, type, origin) lines, (codes, origin)
    blocks, (name, source, imports, expansion, origin) residual block classes."""

    genes: list[tuple[str, str, str]] = field(default_factory=list)
    blocks: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    residuals: list[tuple[str, str, tuple[str, ...], int, str]] = field(default_factory=list)


def zoo_harvest(package: str) -> ZooHarvest:
    """The lines and blocks of an installed zoo; harvested once per installed version and
    kept in the user's cache (reading torchvision's sources takes seconds, every run needs
    them). Empty when the package is not installed."""
    found = zoo_files(package)
    if found is None:
        return ZooHarvest()
    version, files = found
    cache = user_cache_dir() / "zoo" / (version.replace(" ", "-").replace("/", "_")
                                        + f".h{HARVEST_FORMAT}.json")
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return ZooHarvest([tuple(g) for g in data["genes"]],  # type: ignore[misc]
                          [(tuple(codes), origin) for codes, origin in data["blocks"]],
                          [(name, text, tuple(imports), expansion, origin)
                           for name, text, imports, expansion, origin in data["residuals"]])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not harvested yet (or a damaged cache): read the sources
    from nnevolve.gene_pool.pool import harvest_genes
    from nnevolve.gene_pool.residual import harvest_residual_blocks

    harvest = ZooHarvest()
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        origin, analysis = zoo_origin(package, path.name), analyze(source)
        harvest.genes.extend((code, type_, origin)
                             for code, type_ in harvest_genes(source, analysis))
        harvest.blocks.extend((codes, origin) for codes in harvest_blocks(source, analysis))
        harvest.residuals.extend((*found, origin) for found in harvest_residual_blocks(source))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"genes": harvest.genes, "blocks": harvest.blocks,
                                       "residuals": harvest.residuals}),
                           encoding="utf-8")
        partial.replace(cache)  # whole or absent, whatever runs at the same time
    except OSError:
        pass  # a read-only cache: harvested again next time
    return harvest


def zoo_files(package: str) -> tuple[str, list[Path]] | None:
    """(``package version``, its network definition files) when `package` is installed,
    without importing it (torchvision's import takes seconds, and a zoo's code is never run
    here): the ``models/*.py`` of a package that has that folder (torchvision, timm), else its
    ``*.py`` files (at most MAX_ZOO_FILES, none over MAX_ZOO_BYTES), or a one-file module
    itself; private files (``_utils.py``) are left out. None when it is not installed."""
    if not package.isidentifier():
        return None  # a dotted name would import its parent package to be found
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    if not spec.submodule_search_locations:
        origin = Path(spec.origin or "")
        return (f"{package} {version}", [origin]) if origin.suffix == ".py" else None
    root = Path(next(iter(spec.submodule_search_locations)))
    models = root / "models"
    folder = models if models.is_dir() else root
    found = models.glob("*.py") if models.is_dir() else root.rglob("*.py")
    files = sorted(p for p in found if _small(p) and not any(
        part.startswith(("_", "test")) for part in p.relative_to(folder).parts))
    return f"{package} {version}", files[:MAX_ZOO_FILES]


def _small(path: Path) -> bool:
    try:
        return path.stat().st_size <= MAX_ZOO_BYTES
    except OSError:
        return False


def harvest_blocks(source: str, analysis: Analysis | None = None) -> Iterator[tuple[str, ...]]:
    """The canonical codes of each block of ``source``: a connection layer and the layers of
    the types in BLOCK_TYPES right after it, in one literal sequence (at least two layers)."""
    from nnevolve.gene_pool.pool import GENE_TYPES, _gene_code, _text

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    items = {(i.line, i.col, i.end_line, i.end_col): i for i in (analysis or analyze(source)).items
             if i.type in GENE_TYPES}
    text, lines = SourceText(source), source.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            elements: list[ast.expr] = list(node.args)
        elif isinstance(node, ast.List):
            elements = list(node.elts)
        else:
            continue
        block: list[str] = []
        for element in elements:
            item = items.get(ast_range(element, text)) if isinstance(element, ast.Call) else None
            code = (_gene_code(_text(lines, item), item.name, tree, item.line)
                    if item is not None else None)
            if code is not None and item is not None and item.type == "connection":
                if len(block) >= 2:
                    yield tuple(block)
                block = [code]
            elif code is not None and item is not None and item.type in BLOCK_TYPES and block \
                    and len(block) < MAX_BLOCK:
                block.append(code)
            else:
                if len(block) >= 2:
                    yield tuple(block)
                block = []
        if len(block) >= 2:
            yield tuple(block)
