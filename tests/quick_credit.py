"""Credit DAG params for a run where the model is not the subject (the DAG's flow, approval, the images): no
tuning (tuning is tested in the credit image's tests), so the gates are relaxed to what an untuned model on the
small test data reaches; its youngest age group (~30 applicants) is also too small for the 0.8 fairness default."""

QUICK_CREDIT_CONF = {
    "tune_trials": 0,
    "min_accuracy": 0.6,
    "min_precision": 0.5,
    "min_recall": 0.5,
    "min_roc_auc": 0.6,
    "min_disparate_impact": 0.5,
}
