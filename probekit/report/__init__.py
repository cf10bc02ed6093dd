"""probekit.report."""
