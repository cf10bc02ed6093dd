"""probekit.train."""
