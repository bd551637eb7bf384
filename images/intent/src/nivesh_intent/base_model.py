"""The encoder to fine-tune: a hub id or a local directory; without the hub, a small DistilBERT from its config."""

import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nivesh_common.errors import BadInputError

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass
class BaseModel:
    tokenizer: object
    model: object
    source: str  # hub, local, cache or config (trained from scratch: no pretrained weights)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """A quick probe, instead of the hub client's minute of retries when there is no network."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s)
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError):
        return False
    return True


def load_base_model(base_model: str, labels: list[str], texts: list[str]) -> BaseModel:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label_kwargs = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    local = Path(base_model).exists()
    online = local or hub_reachable()
    if not online:
        log.warning("model hub unreachable: looking for %s in the local cache only", base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=not online)
        model = AutoModelForSequenceClassification.from_pretrained(
            base_model, local_files_only=not online, ignore_mismatched_sizes=True, **label_kwargs
        )
    except (OSError, ValueError) as exc:
        if local:
            raise BadInputError(f"--base-model {base_model}: not a Hugging Face model directory: {exc}") from None
        if online:
            raise BadInputError(f"--base-model {base_model}: cannot be loaded from the hub: {exc}") from None
        log.warning("%s not cached, hub unreachable: training a small DistilBERT from its config", base_model)
        return small_distilbert(texts, label_kwargs)
    return BaseModel(tokenizer, model, "local" if local else ("hub" if online else "cache"))


def small_distilbert(texts: list[str], label_kwargs: dict) -> BaseModel:
    """A WordPiece tokenizer trained on the texts and a 2-layer DistilBERT with random weights."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, PreTrainedTokenizerFast

    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=4000, special_tokens=SPECIAL_TOKENS))
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[(token, wordpiece.token_to_id(token)) for token in ("[CLS]", "[SEP]")],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=wordpiece,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    config = DistilBertConfig(
        vocab_size=wordpiece.get_vocab_size(),
        dim=128,
        hidden_dim=512,
        n_layers=2,
        n_heads=4,
        max_position_embeddings=128,
        pad_token_id=wordpiece.token_to_id("[PAD]"),
        **label_kwargs,
    )
    return BaseModel(tokenizer, DistilBertForSequenceClassification(config), "config")
