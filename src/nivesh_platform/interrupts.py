"""Ctrl-C and `kill` for the commands that hold processes or forwards open until stopped."""

import signal


def stop_cleanly_on_signals() -> None:
    """Ctrl-C and `kill` (SIGTERM) both raise KeyboardInterrupt, which unwinds the context managers holding what we
    started (Airflow, MLflow, a port-forward), even where a shell or a test runner started us with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
