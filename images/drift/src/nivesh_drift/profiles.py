"""What drift means for each model: which columns are compared, after which derivation."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pandas.api import types


@dataclass(frozen=True)
class DriftProfile:
    model: str
    # Turns a raw table (reference snapshot or new data) into the columns compared.
    derive: Callable[[pd.DataFrame], pd.DataFrame]

    def compared(self, reference: pd.DataFrame, current: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The reference and current columns Evidently compares."""
        return self.derive(reference), self.derive(current)


def _as_text(labels: pd.Series) -> pd.Series:
    return labels.astype(str)


@dataclass(frozen=True)
class TextDriftProfile:
    """Text models: length, token count and out-of-vocabulary share of each text, and the label distribution."""

    model: str
    label: str
    text: str = "text"
    # Turns the label column into the categories compared (NER: the set of entity labels of a text).
    categories: Callable[[pd.Series], pd.Series] = _as_text

    def compared(self, reference: pd.DataFrame, current: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        # The vocabulary: words in at least two reference texts. A word only one text uses is out of
        # vocabulary on both sides alike, so the same data gives the same descriptors.
        document_frequency = _words(reference[self.text]).map(set).explode().value_counts()
        vocabulary = set(document_frequency[document_frequency >= 2].index)
        return self._descriptors(reference, vocabulary), self._descriptors(current, vocabulary)

    def _descriptors(self, table: pd.DataFrame, vocabulary: set[str]) -> pd.DataFrame:
        return text_descriptors(table[self.text], vocabulary).assign(
            **{self.label: self.categories(table[self.label]).to_numpy()}
        )


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


def _without_identifiers(table: pd.DataFrame) -> pd.DataFrame:
    """Every column but text columns unique in every row (identifiers say nothing about drift)."""
    identifiers = [c for c in table.columns if not types.is_numeric_dtype(table[c]) and table[c].is_unique]
    return table.drop(columns=identifiers)


def _transactions(table: pd.DataFrame) -> pd.DataFrame:
    """Amounts, hour of day, merchants and categories, the label share; not ids or raw timestamps."""
    derived = _without_identifiers(table.drop(columns=["timestamp", "user_id", "anomaly_type"], errors="ignore"))
    if "timestamp" in table:
        derived["hour_of_day"] = pd.to_datetime(table["timestamp"], format="mixed").dt.hour
    return derived


def _entity_label_sets(entities: pd.Series) -> pd.Series:
    """ "AMOUNT+DATE+MERCHANT" per text, from `[[start, end, label], ...]` (a list, or JSON in a snapshot)."""
    spans = entities.map(lambda value: json.loads(value) if isinstance(value, str) else value)
    return spans.map(lambda found: "+".join(sorted({span[2] for span in found})) or "none")


def _daily_spending(table: pd.DataFrame) -> pd.DataFrame:
    """Amount, category and day of week of each transaction; not dates or user ids."""
    return pd.DataFrame(
        {
            "amount": pd.to_numeric(table["amount"], errors="coerce").to_numpy(),
            "category": table["category"].astype(str).to_numpy(),
            "day_of_week": pd.to_datetime(table["date"], format="mixed").dt.day_name().to_numpy(),
        }
    )


PROFILES = {
    "credit_risk_scorer": DriftProfile("credit_risk_scorer", _without_identifiers),
    "anomaly_detector": DriftProfile("anomaly_detector", _transactions),
    "intent_classifier": TextDriftProfile("intent_classifier", label="intent"),
    "financial_ner": TextDriftProfile("financial_ner", label="entities", categories=_entity_label_sets),
    "spending_predictor": DriftProfile("spending_predictor", _daily_spending),
}
