"""probekit.probes."""
