"""The gene pool: an SQLite table of typed layer lines that insertion and replacement draw from."""

from __future__ import annotations

import ast
import json
import os
import random
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from nnevolve.analysis import Analysis, LineItem, analyze
from nnevolve.gene_pool.catalog import BUILTIN_GENES
from nnevolve.gene_pool.out_of_place import out_of_place
from nnevolve.gene_pool.residual import ResidualBlock, harvest_residual_blocks
from nnevolve.config import DEFAULT_ZOOS
from nnevolve.gene_pool.zoo import harvest_blocks, provenance, zoo_files, zoo_harvest
from nnevolve.genome.canonical import FUNCTIONAL_DATA, bind_constants, canonicalize, is_functional
from nnevolve.genome.scope import scope_at

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

# the layer line types a gene may have (not the training set-up, not containers)
GENE_TYPES = frozenset(
    {"connection", "activation", "normalization", "pooling", "dropout", "reshape"}
)
SKIPPED_DIRS = frozenset(
    {"node_modules", "site-packages", "__pycache__", "venv", "env", "build", "dist"}
)
MAX_WORKSPACE_FILES = 400
MAX_FILE_BYTES = 256_000
# the genes of the repository's samples/, shipped inside the package (a wheel has no samples/);
# `python -m nnevolve.gene_pool.sample_genes samples` writes it
SAMPLE_GENES = "sample_genes.json"
# bump when what the pool stores of a line changes: a stored pool of older code is emptied
# (every run harvests its pool again) rather than keep lines a run must not get
POOL_FORMAT = 1  # 1: everything stored out of place (gene_pool.out_of_place)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS genes (
    code TEXT NOT NULL,
    type TEXT NOT NULL,
    origin TEXT NOT NULL,
    UNIQUE(code, type)
);
-- multi-line blocks: a JSON list of canonical layer calls, in order
CREATE TABLE IF NOT EXISTS blocks (
    code TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL
);
-- residual block classes: the class and its helpers' source, the imports it needs (JSON)
CREATE TABLE IF NOT EXISTS residual_blocks (
    name TEXT NOT NULL,
    source TEXT NOT NULL UNIQUE,
    imports TEXT NOT NULL,
    expansion INTEGER NOT NULL,
    origin TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Gene:
    """One typed layer line in canonical spelling, e.g. ``nn.Conv2d(16, 16, 3, padding=1)``."""

    code: str
    type: str
    origin: str  # "catalog", "sample:fcn.py", a workspace path, or the model file's name

    @property
    def functional(self) -> bool:
        """Whether this is a call on a tensor (``F.relu(x)``) rather than a layer (``nn.ReLU()``)."""
        return is_functional(self.code)

    @property
    def provenance(self) -> str | None:
        """``from torchvision resnet.py`` for a gene of an installed model zoo, else None."""
        return provenance(self.origin)


@dataclass(frozen=True)
class Block:
    """Layers a network writes one after another (``nn.Conv2d(...)``, ``nn.BatchNorm2d(...)``,
    ``nn.ReLU()``), in canonical spelling, and where they come from."""

    codes: tuple[str, ...]
    origin: str  # "zoo:torchvision vgg.py" or a workspace file's path

    @property
    def provenance(self) -> str:
        """``from torchvision vgg.py``, ``from models/net.py``."""
        return provenance(self.origin) or f"from {self.origin}"


def normalize_gene_code(code: str) -> str:
    """The canonical text of one call expression; raises ValueError for anything else."""
    try:
        node: ast.expr | None = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if not isinstance(node, ast.Call):
        raise ValueError(f"a gene must be one call expression, got {code!r}")  # noqa: TRY004
    return ast.unparse(node)


class GenePool:
    """Typed layer lines, deduplicated on their normalized code, each with where it came from."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path)
        self._db.executescript(_SCHEMA)
        if self._db.execute("PRAGMA user_version").fetchone()[0] < POOL_FORMAT:
            self._db.executescript("DELETE FROM genes; DELETE FROM blocks;"
                                   " DELETE FROM residual_blocks;")
            self._db.execute(f"PRAGMA user_version = {POOL_FORMAT}")
        self._db.commit()

    # -- filling ---------------------------------------------------------------------------
    def add(self, code: str, type: str, origin: str) -> None:
        """Add one gene; a gene already present (same normalized code and type) is kept as it was."""
        if type not in GENE_TYPES:
            raise ValueError(f"unknown gene type {type!r} (expected one of {sorted(GENE_TYPES)})")
        self._insert(normalize_gene_code(code), type, origin)
        self._db.commit()

    def _insert(self, code: str, type: str, origin: str) -> bool:
        # every line is stored as it may go into another network: out of place
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO genes (code, type, origin) VALUES (?, ?, ?)",
            (_transplantable(code), type, origin),
        )
        return cursor.rowcount > 0

    def harvest_source(self, source: str, origin: str, analysis: Analysis | None = None) -> int:
        """Add the typed layer lines of one Python source; returns how many genes were new.

        Each line is stored in canonical spelling (``torch.nn.Linear`` and ``from torch.nn
        import Linear as L`` both become ``nn.Linear``), with names bound to their constant
        values (``nn.Linear(2*p, 100)`` with ``p = 16`` becomes ``nn.Linear(32, 100)``). Lines
        that still need names of their file are left out. A file that does not parse adds nothing.
        """
        added = sum(self._insert(code, type_, origin)
                    for code, type_ in harvest_genes(source, analysis))
        self._db.commit()
        return added

    def harvest_workspace(self, root: Path) -> int:
        """Harvest the ``*.py`` files under ``root`` (at most MAX_WORKSPACE_FILES, none over
        MAX_FILE_BYTES; skips hidden folders, virtual envs): their typed lines and, in files
        that define modules, their blocks and residual block classes, each with its path as
        origin. The files are read as text, never run."""
        added = 0
        for path in workspace_files(Path(root)):
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "torch" not in source:
                continue
            origin = path.relative_to(root).as_posix()
            analysis = analyze(source)
            added += self.harvest_source(source, origin, analysis)
            if "Module" in source:  # a file that defines networks: its blocks too
                added += self.add_blocks(
                    (codes, origin) for codes in harvest_blocks(source, analysis))
                added += self.add_residual_blocks(
                    (*found, origin) for found in harvest_residual_blocks(source))
        return added

    def add_catalog(self) -> int:
        """Add the built-in catalog of common layer lines; returns how many were new."""
        added = sum(self._insert(normalize_gene_code(c), t, "catalog") for c, t in BUILTIN_GENES)
        self._db.commit()
        return added

    def add_samples(self, samples_dir: Path | None = None) -> int:
        """Add the sample networks' genes: the bundled samples' (shipped with the package), or
        those harvested from the ``*.py`` files of ``samples_dir`` (none when it is absent)."""
        genes = packaged_sample_genes() if samples_dir is None else folder_genes(samples_dir)
        added = sum(self._insert(code, type_, origin) for code, type_, origin in genes)
        self._db.commit()
        return added

    def add_zoo(self, package: str = "torchvision") -> int:
        """Add the typed lines and blocks of an installed model zoo's network definitions
        (nothing when it is not installed); returns how many genes and blocks were new."""
        harvest = zoo_harvest(package)
        added = sum(self._insert(code, type_, origin) for code, type_, origin in harvest.genes)
        self._db.commit()
        return added + self.add_blocks(harvest.blocks) + self.add_residual_blocks(
            harvest.residuals)

    def add_blocks(self, blocks: Iterable[tuple[Sequence[str], str]]) -> int:
        """Add multi-line blocks, each (canonical layer calls, origin); returns how many are new."""
        added = 0
        for codes, origin in blocks:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO blocks (code, origin) VALUES (?, ?)",
                (json.dumps([_transplantable(code) for code in codes]), origin))
            added += cursor.rowcount > 0
        self._db.commit()
        return added

    def add_residual_blocks(
        self, blocks: Iterable[tuple[str, str, Sequence[str], int, str]]
    ) -> int:
        """Add residual block classes, each (name, source, imports, expansion, origin);
        returns how many were new."""
        added = 0
        for name, text, imports, expansion, origin in blocks:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO residual_blocks (name, source, imports, expansion, origin)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, out_of_place(text, imports), json.dumps(list(imports)), expansion, origin))
            added += cursor.rowcount > 0
        self._db.commit()
        return added

    # -- drawing ---------------------------------------------------------------------------
    def residual_blocks(self) -> list[ResidualBlock]:
        """The residual block classes, in a stable order."""
        rows = self._db.execute("SELECT name, source, imports, expansion, origin"
                                " FROM residual_blocks ORDER BY origin, name, source")
        return [ResidualBlock(name, text, tuple(json.loads(imports)), expansion, origin)
                for name, text, imports, expansion, origin in rows]

    def blocks(self) -> list[Block]:
        """The multi-line blocks, in a stable order."""
        rows = self._db.execute("SELECT code, origin FROM blocks ORDER BY code")
        return [Block(tuple(json.loads(code)), origin) for code, origin in rows]

    def genes(self, type: str | None = None, *, functional: bool | None = None) -> list[Gene]:
        """The genes (of one type; only functional or only layer forms), in a stable order."""
        if type is None:
            rows = self._db.execute("SELECT code, type, origin FROM genes ORDER BY type, code")
        else:
            rows = self._db.execute(
                "SELECT code, type, origin FROM genes WHERE type = ? ORDER BY code", (type,)
            )
        found = [Gene(*row) for row in rows]
        if functional is None:
            return found
        return [g for g in found if g.functional == functional]

    def sample(
        self,
        type: str,
        rng: random.Random,
        *,
        functional: bool = False,
        accept: Callable[[Gene], bool] | None = None,
    ) -> Gene | None:
        """A random gene of ``type`` (a layer form unless ``functional``) that ``accept`` allows."""
        candidates = [
            g for g in self.genes(type, functional=functional) if accept is None or accept(g)
        ]
        return rng.choice(candidates) if candidates else None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM genes").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def folder_genes(folder: Path | str) -> list[tuple[str, str, str]]:
    """The ``(code, type, origin)`` of the layer lines of a folder's ``*.py`` files, in order."""
    found: list[tuple[str, str, str]] = []
    for path in sorted(Path(folder).glob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.extend((code, type_, f"sample:{path.name}") for code, type_ in harvest_genes(source))
    return found


def packaged_sample_genes() -> list[tuple[str, str, str]]:
    """The bundled samples' genes as shipped with the package."""
    text = resources.files("nnevolve.gene_pool").joinpath(SAMPLE_GENES).read_text("utf-8")
    return [(code, type_, origin) for code, type_, origin in json.loads(text)]


def harvest_genes(source: str, analysis: Analysis | None = None) -> Iterator[tuple[str, str]]:
    """The ``(canonical code, type)`` of each self-contained layer line of ``source`` (whose
    ``analysis`` may be given when it is at hand)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    lines = source.splitlines()
    for item in (analysis or analyze(source)).items:
        if item.type not in GENE_TYPES:
            continue
        code = _gene_code(_text(lines, item), item.name, tree, item.line)
        if code is not None:
            yield code, item.type


def _text(lines: list[str], item: LineItem) -> str:
    """The source text of an item's range (columns count code points)."""
    if item.line == item.end_line:
        return lines[item.line - 1][item.col : item.end_col]
    middle = lines[item.line : item.end_line - 1]
    return "\n".join(
        [lines[item.line - 1][item.col :], *middle, lines[item.end_line - 1][: item.end_col]]
    )


def _gene_code(text: str, qualified: str, tree: ast.Module, line: int) -> str | None:
    try:
        call = cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return None
    if not isinstance(call, cst.Call) or any(a.star for a in call.args):
        return None
    canonical = canonicalize(call, qualified)
    if canonical is None:
        return None
    functional = is_functional(cst.Module([]).code_for_node(canonical.func) + "()")
    if functional and (not canonical.args or canonical.args[0].keyword is not None):
        return None
    # the tensor a functional call works on is a placeholder, never bound
    head = [canonical.args[0].with_changes(value=cst.Name(FUNCTIONAL_DATA))] if functional else []
    # the mode flag follows the module the gene lands in: bound to its source's default
    # (``training: bool = True``) a dropout would stay on when the network is evaluated
    rest = canonical.with_changes(args=[
        a.with_changes(value=cst.parse_expression("self.training"))
        if a.keyword is not None and a.keyword.value == "training" else a
        for a in canonical.args[len(head) :]])
    bound, unbound = bind_constants(rest, scope_at(tree, line))
    if unbound or _does_nothing(qualified, bound):
        return None
    final = bound.with_changes(args=[*head, *_short_run_arguments(qualified, bound.args)])
    return normalize_gene_code(cst.Module([]).code_for_node(final))


def _short_run_arguments(qualified: str, args: Sequence[cst.Arg]) -> list[cst.Arg]:
    """``args`` without a normalization's ``momentum`` below PyTorch's default 0.1: a zoo tunes
    it for hundreds of thousands of steps (MNASNet's 1 - 0.9997), and after the few hundred of
    a variant's training its running statistics are still near their start, so the evaluated
    network swings between seeds (± 15.7 points measured) or collapses."""
    if "Norm" not in qualified.rsplit(".", 1)[-1]:
        return list(args)
    return [a for a in args
            if not (a.keyword is not None and a.keyword.value == "momentum"
                    and isinstance(a.value, (cst.Float, cst.Integer))
                    and float(a.value.evaluated_value) < 0.1)]


def _does_nothing(qualified: str, call: cst.Call) -> bool:
    """A dropout whose probability is 0 (a zoo's default of ``dropout: float = 0.0``)."""
    if "dropout" not in qualified.lower():
        return False
    p = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "p"),
             call.args[0].value if call.args and call.args[0].keyword is None
             and not is_functional(qualified.rsplit(".", 1)[-1] + "()") else None)
    return isinstance(p, (cst.Float, cst.Integer)) and float(p.evaluated_value) == 0.0


def workspace_files(root: Path) -> list[Path]:
    """Python files under ``root`` worth harvesting, at most :data:`MAX_WORKSPACE_FILES`."""
    found: list[Path] = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        # prune in place so os.walk never enters hidden folders or environments
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIPPED_DIRS
            and not (Path(folder, d) / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(".py") and _small(path):
                found.append(path)
                if len(found) >= MAX_WORKSPACE_FILES:
                    return found
    return found


def _small(path: Path) -> bool:
    try:
        return path.stat().st_size <= MAX_FILE_BYTES
    except OSError:
        return False


def workspace_root(model_file: Path) -> Path:
    """The project folder of a model file: the nearest folder with a pyproject.toml or .git."""
    folder = model_file.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").exists() or (candidate / ".git").exists():
            return candidate
    return folder


def default_gene_pool(model_file: Path, store_dir: Path,
                      zoos: Sequence[str] = DEFAULT_ZOOS) -> GenePool:
    """The gene pool of a run: the model file, its workspace, the samples, the catalog and
    the installed model zoos ``zoos`` (their network definitions: lines, blocks and residual
    block classes; a zoo that is not installed is skipped with a :class:`ZooWarning`).

    Stored in ``store_dir/genes.sqlite`` so that later runs in the workspace reuse it.
    """
    model_file = Path(model_file)
    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    pool = GenePool(store_dir / "genes.sqlite")
    try:
        pool.harvest_source(model_file.read_text(encoding="utf-8"), model_file.name)
    except (OSError, UnicodeDecodeError):
        pass  # the caller reports an unreadable model file; the pool still has the rest
    pool.harvest_workspace(workspace_root(model_file))
    pool.add_samples()
    pool.add_catalog()
    for package in zoos:
        if zoo_files(package) is None:
            warnings.warn(f"model zoo {package!r} is not installed: its networks are not "
                          "harvested", ZooWarning, stacklevel=2)
            continue
        pool.add_zoo(package)
    return pool


class ZooWarning(UserWarning):
    """A model zoo named in the settings is not installed."""


def _transplantable(code: str) -> str:
    """A canonical layer call written out of place (``nn.ReLU(inplace=True)`` → ``nn.ReLU()``)."""
    new = out_of_place(code)
    return code if new == code else normalize_gene_code(new)
