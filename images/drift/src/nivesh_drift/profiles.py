"""What drift means for each model, from its declaration: which columns are compared, after which derivation."""

import json
from dataclasses import dataclass

import pandas as pd
from pandas.api import types

from nivesh_common.timestamps import parse_timestamps
from nivesh_contract.catalog import MODELS
from nivesh_contract.declaration import TableDrift, TextDrift

DATE_PARTS = {"hour": lambda dates: dates.dt.hour, "day_name": lambda dates: dates.dt.day_name()}


@dataclass(frozen=True)
class TableProfile:
    """Every column but the ignored ones and identifiers; plus parts of date columns (hour, day of week)."""

    drift: TableDrift

    def compared(
        self, reference: pd.DataFrame, current: pd.DataFrame, source: str, date_order: str = ""
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`date_order`: of the new data's dates (the reference snapshot's were read when it was trained).
        Identifiers are those of the reference: new data that repeats an id (a join gone wrong) loses the same
        columns, so both sides still compare the same columns."""
        dropped = list(self.drift.ignore) + _identifiers(
            reference.drop(columns=list(self.drift.ignore), errors="ignore")
        )
        return (
            self._derive(reference, dropped, "the reference snapshot", ""),
            self._derive(current, dropped, source, date_order),
        )

    def _derive(self, table: pd.DataFrame, dropped: list[str], source: str, date_order: str) -> pd.DataFrame:
        derived = table.drop(columns=dropped, errors="ignore")
        for part in self.drift.date_parts:
            if part.column in table:
                dates = parse_timestamps(table[part.column], source, part.column, date_order)
                derived[part.name] = DATE_PARTS[part.part](dates).to_numpy()
        return derived.reset_index(drop=True)


@dataclass(frozen=True)
class TextProfile:
    """Text models: length, token count and out-of-vocabulary share of each text, and the label distribution."""

    drift: TextDrift

    def compared(
        self, reference: pd.DataFrame, current: pd.DataFrame, source: str, date_order: str = ""
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        # The vocabulary: words in at least two reference texts. A word only one text uses is out of
        # vocabulary on both sides alike, so the same data gives the same descriptors.
        document_frequency = _words(reference[self.drift.text]).map(set).explode().value_counts()
        vocabulary = set(document_frequency[document_frequency >= 2].index)
        return self._descriptors(reference, vocabulary), self._descriptors(current, vocabulary)

    def _descriptors(self, table: pd.DataFrame, vocabulary: set[str]) -> pd.DataFrame:
        labels = table[self.drift.label]
        categories = _entity_label_sets(labels) if self.drift.label_is_spans else labels.astype(str)
        return text_descriptors(table[self.drift.text], vocabulary).assign(**{self.drift.label: categories.to_numpy()})


def _words(texts: pd.Series) -> pd.Series:
    return texts.astype(str).str.lower().str.findall(r"[a-z0-9']+")


def text_descriptors(texts: pd.Series, vocabulary: set[str]) -> pd.DataFrame:
    """Length in characters, token count and out-of-vocabulary share of each text."""
    words = _words(texts)
    return pd.DataFrame(
        {
            "text_length": texts.astype(str).str.len().to_numpy(),
            "token_count": words.str.len().to_numpy(),
            "oov_share": words.map(lambda tokens: sum(t not in vocabulary for t in tokens) / max(len(tokens), 1)),
        }
    ).reset_index(drop=True)


def _identifiers(table: pd.DataFrame) -> list[str]:
    """Text columns unique in every row: identifiers say nothing about drift."""
    return [c for c in table.columns if not types.is_numeric_dtype(table[c]) and table[c].is_unique]


def _entity_label_sets(entities: pd.Series) -> pd.Series:
    """ "AMOUNT+DATE+MERCHANT" per text, from `[[start, end, label], ...]` (a list, or JSON in a snapshot)."""
    spans = entities.map(lambda value: json.loads(value) if isinstance(value, str) else value)
    return spans.map(lambda found: "+".join(sorted({span[2] for span in found})) or "none")


Profile = TableProfile | TextProfile


def profile_of(drift: TableDrift | TextDrift) -> Profile:
    return TextProfile(drift) if isinstance(drift, TextDrift) else TableProfile(drift)


PROFILES: dict[str, Profile] = {model.name: profile_of(model.drift) for model in MODELS}
