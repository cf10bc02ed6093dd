"""probekit.metrics."""
