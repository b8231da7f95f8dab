"""The ``nnevolve`` subcommands, one module each.

A command module defines ``add_parser(subparsers) -> argparse.ArgumentParser`` (register its
subparser and arguments) and ``run(args) -> int`` (do the work, return the exit status).
:mod:`nnevolve.cli` finds every module of this package, so adding a command means adding a
module here. Keep module-level imports light: heavy ones (torch, pygls) belong in ``run``.
"""
