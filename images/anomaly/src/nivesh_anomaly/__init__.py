"""Anomaly detector: Isolation Forest on per-user transaction features, gated on precision@k and recall."""

MODEL_NAME = "anomaly_detector"
