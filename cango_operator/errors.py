"""The project's exceptions, one tree so callers can catch at the depth they need.

    CangoError
    ├── ConfigError            bad settings, flags or environment (names the setting)
    ├── ManifestError          a manifest that cannot be read or validated (names file and field)
    ├── ToolNotFoundError      a control-plane binary (kwokctl, helm, ...) is missing
    ├── ClusterError           the local control plane did not start or stop as asked
    └── FeedError              a power or price feed gave nothing usable (names the feed)

"Does not fit" is never an exception: the placement engine returns a status with a reason.
"""

from __future__ import annotations


class CangoError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(CangoError):
    """A setting, flag or environment variable is wrong."""


class ManifestError(CangoError):
    """A manifest could not be read or does not validate."""


class ToolNotFoundError(CangoError):
    """A binary the command needs is not installed or built."""


class ClusterError(CangoError):
    """The local control plane failed to start, answer or stop."""


class FeedError(CangoError):
    """A power or price feed returned nothing usable."""
