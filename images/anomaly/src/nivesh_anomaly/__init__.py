"""Anomaly detector: Isolation Forest on per-user transaction features, gated on precision@k and recall.

Declared in `nivesh_contract/models/anomaly.toml`.
"""
