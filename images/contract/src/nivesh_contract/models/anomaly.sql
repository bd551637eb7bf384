-- Anomaly detector: the transactions recorded in the window, with their labels (confirmed fraud or not).
SELECT transaction_id, user_id, "timestamp", amount, merchant, category, is_anomaly, anomaly_type
FROM nivesh_training.anomaly_transactions
WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s
ORDER BY transaction_id
