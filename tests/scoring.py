"""Each production model through MLflow's scoring server, called as the app would: records of its data contract."""

from pathlib import Path

from nivesh_platform.services import free_port
from nivesh_platform.serving import invocations, start_scoring_server

# One request body per model, in MLflow's JSON formats; and the columns each answer must have.
REQUESTS = {
    "credit_risk_scorer": None,  # rows of the test's own credit data (its columns vary with the contract)
    "anomaly_detector": {
        "dataframe_records": [
            {"user_id": "U00025", "timestamp": "2026-03-01T03:51:00", "amount": 1289.27, "merchant": "Amazon"},
            {"user_id": "U-new", "timestamp": "2026-03-01T03:52:00", "amount": 99999.0, "merchant": "Nowhere"},
        ]
    },
    "financial_ner": {"dataframe_split": {"columns": ["text"], "data": [["Rs 2,500 debited at Swiggy on 12 March"]]}},
    "spending_predictor": {"dataframe_records": [{"ds": "2026-12-01"}, {"ds": "2026-12-02"}]},
    "intent_classifier": {"dataframe_records": [{"text": "what is my account balance"}]},
}
ANSWERS = {
    "credit_risk_scorer": {"default_probability", "decision", "reasons"},
    "anomaly_detector": {"anomaly_score", "is_anomaly"},
    "financial_ner": {"entities"},
    "spending_predictor": {"ds", "yhat", "yhat_lower", "yhat_upper"},
    "intent_classifier": {"intent", "confidence"},
}


def answers_of_the_scoring_server(tracking_uri: str, model: str, body: dict, logs: Path) -> list[dict]:
    """Start `mlflow models serve` on the model's production version, post `body`, stop it; the predictions."""
    url, server = start_scoring_server(tracking_uri, model, free_port(), logs / f"serve-{model}.log")
    try:
        return invocations(url, body)
    finally:
        server.stop()
