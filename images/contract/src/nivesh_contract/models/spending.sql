-- Spending predictor: daily spend per user and category, for the days recorded in the window.
SELECT "date", user_id, category, amount
FROM nivesh_training.spending_daily
WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s
ORDER BY "date", user_id, category, amount
