"""The NER model's gate threshold and promotion metric (light: the CLI imports it for --help).

The DAG catalog passes the same values; a test keeps both in step.
"""

DEFAULT_MIN_ENTITY_F1 = 0.80
PROMOTION_METRIC = "test_entity_f1"
PROMOTION_TOLERANCE = 0.01
