"""The credit model's gate thresholds and promotion metric (light: the CLI imports it for --help).

The DAG catalog passes the same values; a test keeps both in step.
"""

DEFAULT_THRESHOLDS = {"accuracy": 0.75, "precision": 0.70, "recall": 0.65, "roc_auc": 0.75}
DEFAULT_MIN_DISPARATE_IMPACT = 0.8
MIN_GROUP_SIZE = 5
PROMOTION_METRIC = "test_roc_auc"
PROMOTION_TOLERANCE = 0.005
