"""Financial NER: amounts, merchants, dates, accounts and categories in users' messages and bank alerts."""

MODEL_NAME = "financial_ner"
