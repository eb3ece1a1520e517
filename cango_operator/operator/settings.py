"""kopf's settings for this operator, each with the reason it differs from the default."""

from __future__ import annotations

import logging

import kopf

from cango_operator.operator.options import OperatorOptions

ANNOTATION_PREFIX = "compute.cango.io"


def configure(settings: kopf.OperatorSettings, options: OperatorOptions) -> None:
    # The peering name and priority are given to kopf.operator() itself: kopf reads them
    # before any startup handler runs.
    # A standby takes over once the active peer's record is this old; kopf's 60 s default
    # would leave the fleet unmanaged for a minute after the active pod dies.
    settings.peering.lifetime = options.peering_lifetime
    # Keep-alives every few seconds would flood the log.
    settings.peering.stealth = True
    # Handlers only request rounds; kopf's default posts an Event per handler run, which
    # on a busy fleet is thousands of useless Events. Warnings and errors still go out.
    settings.posting.level = logging.WARNING
    # Long watches, reconnected by the server every 5 minutes; a client-side limit a bit
    # above it catches connections that died silently (a WAN link to a site cluster).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    # Coalesce bursts of events per object (a Deployment rolling out) into one handling.
    settings.batching.batch_window = 0.2
    # One worker per object with events in flight is cheap here (handlers only index and
    # request a round, without awaiting anything), so no limit: a limit would only delay
    # index updates of a large fleet behind each other.
    settings.batching.worker_limit = None
    # Every handler is a coroutine; kopf's thread pool would serve only sync handlers.
    settings.execution.max_workers = 2
    # kopf keeps no handler progress on our objects (no change-detection handlers, no
    # finalizers); should that change, its marks go under our own domain.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/operator"
