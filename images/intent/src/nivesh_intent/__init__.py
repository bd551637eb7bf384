"""Intent classifier: what a Nivesh user's message asks for (check_balance, transfer_money, ...)."""

MODEL_NAME = "intent_classifier"
