"""probekit.synthetic."""
