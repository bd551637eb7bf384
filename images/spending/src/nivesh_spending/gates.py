"""The spending model's gate thresholds and promotion metric (light: the CLI imports it for --help).

The DAG catalog passes the same values; a test keeps both in step.
"""

DEFAULT_MAX_MAPE = 0.25
# Forecast skill over the seasonal-naive forecast: 1 - MAPE / naive MAPE. Above 0 means better than naive;
# the default asks for at least 1% less error, so a tie does not count as better.
DEFAULT_MIN_SKILL = 0.01
PROMOTION_METRIC = "test_mape"  # lower is better
PROMOTION_TOLERANCE = 0.01
HORIZON_DAYS = 30  # the holdout window and the forecast horizon
