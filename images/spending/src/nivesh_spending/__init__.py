"""Spending predictor: forecasts Nivesh users' daily spend, in total and per category."""

MODEL_NAME = "spending_predictor"
