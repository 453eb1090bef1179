"""chainmatch domain: profiles, chain graph, regions, policy and matching. Imports no web framework."""

__version__ = "0.1.0"
