"""Spending predictor: forecasts Nivesh users' daily spend, in total and per category.

Declared in `nivesh_contract/models/spending.toml`.
"""
