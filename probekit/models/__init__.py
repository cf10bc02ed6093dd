"""probekit.models."""
