"""The NER data contract: JSONL records `{text, entities: [[start, end, label], ...]}`.

Spans are character offsets (end exclusive) that start and end on token boundaries, do not overlap,
and carry one of LABELS; a text has at most MAX_TEXT_CHARS characters. Errors name the line.
"""

import itertools
import json

import pandas as pd

from nivesh_common.errors import BadInputError

TEXT, ENTITIES = "text", "entities"
LABELS = ("AMOUNT", "MERCHANT", "DATE", "ACCOUNT", "CATEGORY")
MIN_RECORDS = 50  # train, validation and test splits each need a few examples
# Transaction texts and messages are short; a longer text is a broken extract (a whole statement in one field). spaCy
# refuses texts over nlp.max_length (1,000,000) with a traceback, and its memory grows with length before that.
MAX_TEXT_CHARS = 5_000


def parse_examples(records: list[tuple[str, dict]], source: str, nlp) -> pd.DataFrame:
    """Checked examples: `text`, and `entities` as canonical JSON (sorted `[start, end, label]` lists).

    `nlp` tokenizes (the pipeline that will be trained), so alignment is checked against its tokenizer.
    """
    if len(records) < MIN_RECORDS:
        raise BadInputError(f"{source}: {len(records)} records; at least {MIN_RECORDS} are needed to train and test")
    texts, entities = [], []
    for where, record in records:
        text = _text(record, f"{source}: {where}")
        spans = _spans(record, text, f"{source}: {where}")
        _require_token_boundaries(nlp.make_doc(text), spans, f"{source}: {where}")
        texts.append(text)
        entities.append(json.dumps(spans))
    return pd.DataFrame({TEXT: texts, ENTITIES: entities})


def spans_of(entities: str) -> list[tuple[int, int, str]]:
    return [(start, end, label) for start, end, label in json.loads(entities)]


def _text(record: dict, where: str) -> str:
    text = record.get(TEXT)
    if not isinstance(text, str) or not text.strip():
        raise BadInputError(f"{where}: `{TEXT}` is missing, empty or not text")
    if len(text) > MAX_TEXT_CHARS:
        raise BadInputError(f"{where}: `{TEXT}` has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are read")
    return text


def _spans(record: dict, text: str, where: str) -> list[list]:
    spans = record.get(ENTITIES)
    if not isinstance(spans, list):
        raise BadInputError(f"{where}: `{ENTITIES}` must be a list of [start, end, label]")
    checked = []
    for span in spans:
        if not (isinstance(span, list) and len(span) == 3 and all(isinstance(v, int) for v in span[:2])):
            raise BadInputError(f"{where}: entity {span!r} is not [start, end, label] with integer offsets")
        start, end, label = span
        if label not in LABELS:
            raise BadInputError(f"{where}: entity {span!r} has unknown label {label!r} (known: {', '.join(LABELS)})")
        if not 0 <= start < end <= len(text):
            raise BadInputError(f"{where}: entity {span!r} is outside the text (length {len(text)})")
        checked.append([start, end, label])
    checked.sort()
    for before, after in itertools.pairwise(checked):
        if after[0] < before[1]:
            raise BadInputError(f"{where}: entities {before!r} and {after!r} overlap")
    return checked


def _require_token_boundaries(doc, spans: list[list], where: str) -> None:
    for start, end, label in spans:
        if doc.char_span(start, end, label=label, alignment_mode="strict") is None:
            raise BadInputError(
                f"{where}: entity [{start}, {end}, {label!r}] ({doc.text[start:end]!r}) does not start and end "
                "on token boundaries"
            )
