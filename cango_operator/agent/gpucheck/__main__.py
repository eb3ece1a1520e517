"""``python -m cango_operator.agent.gpucheck``: see the package's docstring."""

import sys

from cango_operator.agent.gpucheck.run import main

sys.exit(main())
