"""The NER model as an MLflow pyfunc: a DataFrame with `text` in, `entities` out, each a list of
`{start, end, label, text}` (character offsets into the text).

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded; the
pipeline is spaCy's own directory format, so loading it unpickles nothing.
"""

import mlflow
import pandas as pd

TEXT = "text"
ENTITIES = "entities"


def entities_of(nlp, texts: list[str]) -> list[list[dict]]:
    """Each text's entities as plain records (what the served model returns)."""
    return [
        [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text} for e in doc.ents]
        for doc in nlp.pipe(texts)
    ]


class NerModel(mlflow.pyfunc.PythonModel):
    """Wraps the spaCy pipeline saved as the artifact `pipeline`."""

    def load_context(self, context) -> None:
        import spacy

        self.nlp = spacy.load(context.artifacts["pipeline"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({ENTITIES: entities_of(self.nlp, model_input[TEXT].astype(str).tolist())})


mlflow.models.set_model(NerModel())
