"""The anomaly model's gate thresholds and promotion metric (light: the CLI imports it for --help).

The DAG catalog passes the same values; a test keeps both in step.
"""

DEFAULT_MIN_PRECISION_AT_K = 0.6
DEFAULT_MIN_RECALL = 0.6
PROMOTION_METRIC = "test_precision_at_k"
PROMOTION_TOLERANCE = 0.02
