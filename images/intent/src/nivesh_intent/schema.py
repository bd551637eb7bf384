"""The intent data contract: JSON or JSONL records `{text, intent}`; at least 10 examples per intent to train."""

import logging

import pandas as pd

from nivesh_common.data import require_columns
from nivesh_common.errors import BadInputError

TEXT, LABEL = "text", "intent"
# The stratified 80/10/10 split needs two of each intent in the 20% it splits again: ten in all.
MIN_EXAMPLES_PER_INTENT = 10
MIN_EVALUATION_EXAMPLES = 3  # fewer, and one mistake moves an intent's recall by a third or more

log = logging.getLogger(__name__)


def parse_examples(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Training examples: valid rows, two intents or more, each with enough examples to split."""
    examples = valid_examples(table, source)
    counts = examples[LABEL].value_counts()
    if len(counts) < 2:
        raise BadInputError(f"{source}: every record's `intent` is {counts.index[0]!r}; a classifier needs two or more")
    too_few = counts[counts < MIN_EXAMPLES_PER_INTENT]
    if not too_few.empty:
        named = ", ".join(f"{intent} ({count})" for intent, count in too_few.items())
        raise BadInputError(f"{source}: intent(s) with fewer than {MIN_EXAMPLES_PER_INTENT} examples: {named}")
    return examples


def evaluation_examples(table: pd.DataFrame, source: str, known: list[str]) -> pd.DataFrame:
    """A labelled evaluation set: valid rows of intents the model knows; any number of each, since nothing is
    split (an intent with fewer than MIN_EVALUATION_EXAMPLES is measured, with a warning)."""
    examples = valid_examples(table, source)
    require_known_intents(examples, known, source)
    counts = examples[LABEL].value_counts()
    scarce = counts[counts < MIN_EVALUATION_EXAMPLES]
    if not scarce.empty:
        named = ", ".join(f"{intent} ({count})" for intent, count in scarce.items())
        log.warning(
            "%s: intent(s) with fewer than %d examples, their scores are noisy: %s",
            source,
            MIN_EVALUATION_EXAMPLES,
            named,
        )
    return examples


def valid_examples(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """The `text` and `intent` columns, each a non-empty text, stripped; errors name the record (1-based)."""
    require_columns(table, [TEXT, LABEL], source)
    examples = table[[TEXT, LABEL]]
    for column in (TEXT, LABEL):
        bad = examples[column].map(lambda value: not isinstance(value, str) or not value.strip())
        if bad.any():
            record = int(bad.to_numpy().argmax()) + 1
            raise BadInputError(f"{source}: record {record}: `{column}` is missing, empty or not text")
    stripped = examples.assign(**{TEXT: examples[TEXT].str.strip(), LABEL: examples[LABEL].str.strip()})
    return stripped.reset_index(drop=True)


def require_known_intents(examples: pd.DataFrame, known: list[str], source: str) -> None:
    """Evaluation data may only hold intents the model was trained on."""
    unknown = sorted(set(examples[LABEL]) - set(known))
    if unknown:
        raise BadInputError(f"{source}: intent(s) the model never saw: {', '.join(unknown)}")
