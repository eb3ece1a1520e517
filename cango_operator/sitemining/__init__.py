"""The site-mining controller: at the site, it drives the site's miners to the mining
target the operator publishes (``status.power.miningTargetKw``) and reports what it did
(``status.mining``)."""

from cango_operator.sitemining.runner import SiteMiningConfig, SiteMiningRunner

__all__ = ["SiteMiningConfig", "SiteMiningRunner"]
