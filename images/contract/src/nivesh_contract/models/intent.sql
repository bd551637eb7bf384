-- Intent classifier: user queries with the intent they were resolved to, recorded in the window.
SELECT text, intent
FROM nivesh_training.intent_queries
WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s
ORDER BY query_id
