"""Every model the platform trains: one declaration file each (`<name>.toml`), listed here once.

`make new-model NAME=...` writes its file and adds its line.
"""

from pathlib import Path

from nivesh_contract.declaration_file import load_declaration

DECLARED = (
    "credit_risk",
    "anomaly",
    "intent",
    "spending",
    "ner",
)

MODELS = tuple(load_declaration(Path(__file__).parent / f"{name}.toml") for name in DECLARED)
