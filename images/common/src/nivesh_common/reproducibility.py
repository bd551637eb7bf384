"""What reproducing a training run needs beyond its data and code (tagged apart): its seed, the CPU threads the
process could use and the versions of the libraries that do its arithmetic, as one tag that the registered
version's description quotes."""

import importlib.metadata
import os

# The packages (import names) whose versions can change a trained model's numbers; a step image holds some of them.
NUMERIC_PACKAGES = (
    "numpy",
    "pandas",
    "sklearn",
    "xgboost",
    "optuna",
    "prophet",
    "cmdstanpy",
    "spacy",
    "thinc",
    "torch",
    "transformers",
)


def reproduce_note(params: dict[str, str]) -> str:
    """`seed 42; 2 CPU threads; numpy 2.3.4, pandas 2.3.3, xgboost-cpu 3.2.0, ...`."""
    seed = f"seed {params['seed']}; " if "seed" in params else ""
    # OpenMP's threads where set (they bound XGBoost and PyTorch), else the CPUs the process may use
    threads = os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0))
    return f"{seed}{threads} CPU threads; {', '.join(_installed_versions())}"


def _installed_versions() -> list[str]:
    """By distribution, as installed: `sklearn` is scikit-learn, `xgboost` may be xgboost-cpu."""
    distributions = importlib.metadata.packages_distributions()
    names = dict.fromkeys(name for package in NUMERIC_PACKAGES for name in distributions.get(package, ()))
    return [f"{name} {importlib.metadata.version(name)}" for name in names]
