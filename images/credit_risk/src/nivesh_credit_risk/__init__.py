"""Credit risk scorer: XGBoost on credit applications, gated on accuracy, precision, recall, ROC AUC and fairness."""

MODEL_NAME = "credit_risk_scorer"
