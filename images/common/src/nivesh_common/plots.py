"""Figures logged to the active MLflow run (headless: Agg backend)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mlflow


def log_figure(figure: plt.Figure, artifact_file: str) -> None:
    mlflow.log_figure(figure, artifact_file)
    plt.close(figure)
