"""Entry points of the ``cango-operator`` subcommands, one module each.

Each module has ``add_arguments(parser)`` and ``run(args) -> int`` and keeps to
argument handling: the work happens in the packages below.
"""
