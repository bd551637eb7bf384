"""The intent model as an MLflow pyfunc: a DataFrame with `text` in, `intent` and `confidence` out.

Logged as MLflow "models from code": this file is stored with the model and run when it is loaded, and
the weights are safetensors, so loading it unpickles nothing. It imports only what a consumer has.
"""

import mlflow
import pandas as pd

BATCH_SIZE = 64
MAX_LENGTH = 128


class IntentModel(mlflow.pyfunc.PythonModel):
    """Wraps the fine-tuned Hugging Face model and tokenizer saved as the artifact `model_dir`."""

    def load_context(self, context) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(context.artifacts["model_dir"])
        self.model = AutoModelForSequenceClassification.from_pretrained(context.artifacts["model_dir"]).eval()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        import torch

        texts = model_input["text"].astype(str).tolist()
        intents, confidences = [], []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                batch = self.tokenizer(
                    texts[start : start + BATCH_SIZE],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                )
                probabilities = self.model(**batch).logits.softmax(dim=-1)
                best = probabilities.max(dim=-1)
                intents += [self.model.config.id2label[int(i)] for i in best.indices]
                confidences += best.values.tolist()
        return pd.DataFrame({"intent": intents, "confidence": confidences})


mlflow.models.set_model(IntentModel())
