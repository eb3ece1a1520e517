"""cango-operator: places GPU inference services at bitcoin-mining sites.

Packages, from the top of the import layers down (enforced by import-linter, see
``.importlinter``): ``cli`` and ``commands`` (entry points), ``demo``/``devcluster``,
``operator``/``agent`` (things that talk to Kubernetes), ``builders``/``placement``/
``power`` (pure logic), ``metrics``, ``api`` (the resource models), ``errors``.
"""

__version__ = "0.1.0"
