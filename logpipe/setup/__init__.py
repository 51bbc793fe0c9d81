"""Installing what the Elasticsearch output writes into: lifecycle policies, templates, aliases.

``resources`` reads ilm/ and index_templates/; ``cluster`` finds out what the
cluster supports; ``plan`` adapts the resources to it and compares them with
what is installed (pure); ``installer`` fetches, applies and bootstraps.
"""
from logpipe.setup.installer import Installer, SetupReport
from logpipe.setup.resources import Resources

__all__ = ["Installer", "Resources", "SetupReport"]
