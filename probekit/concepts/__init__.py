"""probekit.concepts."""
