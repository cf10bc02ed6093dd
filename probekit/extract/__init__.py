"""probekit.extract."""
