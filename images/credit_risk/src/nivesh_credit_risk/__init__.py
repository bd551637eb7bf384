"""Credit risk scorer: XGBoost on credit applications, gated on accuracy, precision, recall, ROC AUC and fairness.

Declared in `nivesh_contract/models/credit_risk.toml`.
"""
