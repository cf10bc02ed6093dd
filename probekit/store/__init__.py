"""probekit.store."""
