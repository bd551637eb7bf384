"""Financial NER: amounts, merchants, dates, accounts and categories in users' messages and bank alerts.

Declared in `nivesh_contract/models/ner.toml`.
"""
