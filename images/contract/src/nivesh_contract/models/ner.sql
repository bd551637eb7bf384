-- Financial NER: annotated merchant and query texts (entities: a JSON array of [start, end, label]) from the window.
SELECT text, entities
FROM nivesh_training.ner_annotations
WHERE recorded_at >= %(window_start)s AND recorded_at < %(window_end)s
ORDER BY annotation_id
