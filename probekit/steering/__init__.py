"""probekit.steering."""
