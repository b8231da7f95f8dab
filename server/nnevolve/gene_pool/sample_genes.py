"""Writes the bundled samples' genes into the package: ``python -m nnevolve.gene_pool.sample_genes
samples`` after a sample network of the repository's ``samples/`` changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nnevolve.gene_pool.pool import SAMPLE_GENES, folder_genes


def write_sample_genes(samples_dir: Path) -> Path:
    """Harvest ``samples_dir`` into the package's gene file; returns where it was written."""
    target = Path(__file__).with_name(SAMPLE_GENES)
    lines = ",\n".join(json.dumps(gene) for gene in folder_genes(samples_dir))
    target.write_text(f"[\n{lines}\n]\n", encoding="utf-8")  # one gene a line: readable diffs
    return target


if __name__ == "__main__":
    print(write_sample_genes(Path(sys.argv[1] if len(sys.argv) > 1 else "samples")))
