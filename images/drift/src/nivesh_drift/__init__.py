"""Drift detection: new data against the reference snapshot logged with a model's production version."""
