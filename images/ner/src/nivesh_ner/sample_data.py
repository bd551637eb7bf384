"""Synthetic annotated messages: bank SMS alerts, users' questions and statements, with varied values.

As hard as real annotations: a long tail of local shops no model saw in training, and annotators who do not
always agree (an amount marked without its currency, an account as its bank alone, a span missed now and
then), so a good model scores clearly below 1.0 on it and still above the gate.
"""

import re

import numpy as np
import pandas as pd

from nivesh_ner.schema import ENTITIES, TEXT

TEMPLATES = (
    "{AMOUNT} debited from {ACCOUNT} on {DATE} at {MERCHANT}. Avl bal Rs 12,430.55",
    "{AMOUNT} spent on your {ACCOUNT} at {MERCHANT} on {DATE}.",
    "Your {ACCOUNT} has been credited with {AMOUNT} on {DATE}.",
    "Txn of {AMOUNT} at {MERCHANT} on {DATE} via {ACCOUNT} declined due to insufficient funds.",
    "UPI payment of {AMOUNT} to {MERCHANT} successful. Ref no 40213377 on {DATE}",
    "how much did i spend on {CATEGORY} last month",
    "How much have I spent at {MERCHANT} since {DATE}?",
    "show my {CATEGORY} expenses from {DATE}",
    "I paid {AMOUNT} to {MERCHANT} {DATE} but it shows twice",
    "transfer {AMOUNT} from {ACCOUNT} to mom {DATE}",
    "Set a budget of {AMOUNT} for {CATEGORY} every month",
    "why was {AMOUNT} charged by {MERCHANT} on my {ACCOUNT}?",
    "what is my total {CATEGORY} spend this year",
    "Refund of {AMOUNT} from {MERCHANT} credited to {ACCOUNT} on {DATE}.",
    "Pay my {CATEGORY} bill of {AMOUNT} on {DATE}",
    "remind me to pay {AMOUNT} for {CATEGORY} on {DATE}",
    "Did {MERCHANT} charge me {AMOUNT} {DATE}?",
    "Compare my {CATEGORY} spending with {DATE}",
    "Block the card linked to {ACCOUNT}, there is a {AMOUNT} transaction at {MERCHANT} I did not make",
    "Auto-debit of {AMOUNT} for {CATEGORY} from {ACCOUNT} scheduled on {DATE}.",
    "ordered from {MERCHANT} for {AMOUNT}, put it under {CATEGORY}",
    "Is {AMOUNT} too much for {CATEGORY} in a week?",
    "EMI of {AMOUNT} debited from {ACCOUNT} on {DATE} towards {CATEGORY} loan.",
    "cashback of {AMOUNT} received from {MERCHANT}",
)

VALUES = {
    "AMOUNT": (
        "₹{n}",
        "Rs. {n}",
        "INR {n}",
        "{n} rupees",
        "₹{n}.00",
        "{n}",
        "Rs.{n}",
        "{n} rs",
    ),
    "MERCHANT": (
        "Swiggy",
        "Zomato",
        "Amazon",
        "Flipkart",
        "BigBasket",
        "Blinkit",
        "Zepto",
        "Myntra",
        "Uber",
        "Ola",
        "IRCTC",
        "MakeMyTrip",
        "Reliance Digital",
        "DMart",
        "Airtel",
        "Jio",
        "Tata Power",
        "BookMyShow",
        "Netflix",
        "Spotify",
        "Apollo Pharmacy",
        "Indian Oil",
        "HP Petrol Pump",
        "Starbucks",
        "Croma",
        "Nykaa",
        "Decathlon",
        "PVR Cinemas",
        "Rapido",
        "Dominos",
        "McDonalds",
        "Lenskart",
        "Urban Company",
    ),
    "DATE": (
        "yesterday",
        "today",
        "last Friday",
        "last week",
        "12 March",
        "5th April",
        "15/08/2026",
        "03-11-2026",
        "1 Jan 2026",
        "Monday",
        "the 5th",
        "2 days ago",
        "last month",
        "Diwali",
        "20 September",
        "31st December",
        "this morning",
        "2026-10-02",
        "next Tuesday",
        "March 2026",
    ),
    "ACCOUNT": (
        "HDFC savings account",
        "SBI a/c XX4521",
        "ICICI credit card XX1234",
        "Axis Bank account ending 7788",
        "salary account",
        "Kotak debit card",
        "A/c XX9012",
        "account no. XXXX3345",
        "credit card ending 0042",
        "Paytm wallet",
        "PNB savings account",
        "joint account",
        "Yes Bank card XX5561",
        "current account",
    ),
    "CATEGORY": (
        "groceries",
        "food delivery",
        "dining out",
        "travel",
        "fuel",
        "electricity",
        "rent",
        "shopping",
        "entertainment",
        "medical",
        "insurance",
        "education",
        "mobile recharge",
        "subscriptions",
        "EMI",
        "utilities",
        "clothes",
        "gifts",
        "investments",
        "household",
    ),
}

# Local shops: "Sharma Medicals", "Sai Kirana Store", ... (90 names, most of them unseen in training)
SHOP_OWNERS = ("Sharma", "Gupta", "Balaji", "Sai", "Krishna", "Lakshmi", "Patel", "New India", "Royal", "Shree Ganesh")
SHOP_KINDS = (
    "Medicals",
    "Kirana Store",
    "Sweets",
    "Electronics",
    "Textiles",
    "Bakery",
    "Motors",
    "Opticals",
    "Hardware",
)
LOCAL_SHOP_RATE = 0.3
BANKS = ("HDFC", "SBI", "ICICI", "Axis", "Kotak", "PNB")
CURRENCY_WORDS = ("Rs.", "INR", "rupees", "rs")
ANNOTATOR_DISAGREES = 0.15  # an amount without its currency word, an account as its bank alone
ANNOTATOR_MISSES = 0.03  # a span left unmarked

_PLACEHOLDER = re.compile(r"\{(" + "|".join(VALUES) + r")\}")


def _amount_text(rng: np.random.Generator) -> str:
    value = int(rng.choice([rng.integers(10, 999), rng.integers(1_000, 99_999), rng.integers(100, 5_000)]))
    number = f"{value:,}" if rng.random() < 0.6 else str(value)
    return str(rng.choice(VALUES["AMOUNT"])).format(n=number)


def _value(label: str, rng: np.random.Generator) -> str:
    if label == "AMOUNT":
        return _amount_text(rng)
    if label == "MERCHANT" and rng.random() < LOCAL_SHOP_RATE:
        return f"{rng.choice(SHOP_OWNERS)} {rng.choice(SHOP_KINDS)}"
    return str(rng.choice(VALUES[label]))


def _annotated_part(value: str, label: str) -> tuple[int, int]:
    """Where in `value` a second annotator's span lies: the number of an amount, the bank of an account."""
    words = value.split(" ")
    if label == "AMOUNT" and words[0] in CURRENCY_WORDS:
        return len(words[0]) + 1, len(value)
    if label == "AMOUNT" and words[-1] in CURRENCY_WORDS:
        return 0, len(value) - len(words[-1]) - 1
    if label == "ACCOUNT" and words[0] in BANKS:
        return 0, len(words[0])
    return 0, len(value)


def _fill(template: str, rng: np.random.Generator) -> dict:
    """The message with each placeholder replaced, and the character span of each value as annotated."""
    text, entities, cursor = "", [], 0
    for match in _PLACEHOLDER.finditer(template):
        text += template[cursor : match.start()]
        label = match.group(1)
        value = _value(label, rng)
        start, end = _annotated_part(value, label) if rng.random() < ANNOTATOR_DISAGREES else (0, len(value))
        if rng.random() >= ANNOTATOR_MISSES:
            entities.append([len(text) + start, len(text) + end, label])
        text += value
        cursor = match.end()
    text += template[cursor:]
    if rng.random() < 0.3:  # people type in lower case
        text = text.lower()
    return {TEXT: text, ENTITIES: entities}


def annotated_messages(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    records = [_fill(TEMPLATES[i % len(TEMPLATES)], rng) for i in rng.permutation(rows)]
    return pd.DataFrame.from_records(records)
