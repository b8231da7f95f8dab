"""nnevolve: evolve PyTorch model source code with genetic improvement."""

__version__ = "0.1.0"
