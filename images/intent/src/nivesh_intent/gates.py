"""The intent model's gate thresholds and promotion metric (light: the CLI imports it for --help).

The DAG catalog passes the same values; a test keeps both in step.
"""

DEFAULT_MIN_ACCURACY = 0.85
DEFAULT_MIN_MACRO_F1 = 0.80
PROMOTION_METRIC = "test_macro_f1"
PROMOTION_TOLERANCE = 0.01
