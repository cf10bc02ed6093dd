"""probekit.estimators."""
