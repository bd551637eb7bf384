"""A synthetic banking-assistant data set: 24 intents, several phrasings each, slots, typos and fillers."""

import random

import pandas as pd

from nivesh_intent.schema import LABEL, TEXT

MERCHANTS = ["Swiggy", "Zomato", "Amazon", "Flipkart", "BigBasket", "Uber", "Ola", "Myntra", "Jio", "Airtel"]
PAYEES = ["mom", "Rahul", "Priya", "my landlord", "Anil", "dad", "my sister", "Sneha", "Vikram", "the society office"]
BILLS = ["electricity", "water", "gas", "broadband", "mobile", "DTH", "credit card", "insurance premium"]
CATEGORIES = ["food", "groceries", "travel", "shopping", "entertainment", "fuel", "rent", "subscriptions"]
PERIODS = ["this month", "last month", "this week", "in October", "since Diwali", "last 30 days", "this year"]
ACCOUNTS = ["savings", "salary", "current", "joint", "NRE"]
FUNDS = ["an index fund", "mutual funds", "an SIP", "gold", "fixed deposits", "PPF", "stocks", "ELSS"]

TEMPLATES = {
    "check_balance": [
        "what is my {account} account balance",
        "how much money do I have",
        "show balance",
        "balance in my {account} account please",
        "how much is left in my account",
        "tell me my current balance",
    ],
    "transfer_money": [
        "send {amount} to {payee}",
        "transfer {amount} to {payee}",
        "pay {payee} {amount}",
        "move {amount} from {account} to {payee}",
        "I want to send money to {payee}",
        "can you wire {amount} to {payee} today",
    ],
    "bill_payment": [
        "pay my {bill} bill",
        "pay the {bill} bill of {amount}",
        "my {bill} bill is due, pay it",
        "settle the {bill} bill",
        "clear {bill} dues",
        "recharge my {bill}",
    ],
    "investment_advice": [
        "should I invest in {fund}",
        "where should I invest {amount}",
        "is {fund} a good investment",
        "suggest some good investments",
        "how do I start investing in {fund}",
        "best place to put {amount} for 5 years",
    ],
    "spending_summary": [
        "how much did I spend {period}",
        "show my spending {period}",
        "spending summary for {period}",
        "where did my money go {period}",
        "give me a breakdown of my expenses {period}",
        "total expenses {period}",
    ],
    "card_block": [
        "block my card",
        "my card is lost, block it",
        "freeze my debit card",
        "someone stole my credit card",
        "please block card ending 4321",
        "disable my card immediately",
    ],
    "loan_enquiry": [
        "can I get a personal loan of {amount}",
        "what is the interest rate on home loans",
        "am I eligible for a loan",
        "apply for a car loan",
        "loan options for {amount}",
        "how much loan can I get",
    ],
    "transaction_history": [
        "show my last transactions",
        "list transactions {period}",
        "what did I pay to {merchant}",
        "show payments to {merchant} {period}",
        "recent transactions on my {account} account",
        "transaction history please",
    ],
    "budget_setting": [
        "set a budget of {amount} for {category}",
        "limit my {category} spending to {amount}",
        "create a monthly budget",
        "I want to spend only {amount} on {category}",
        "set {category} budget",
        "help me make a budget for {period}",
    ],
    "savings_goal": [
        "I want to save {amount} for a trip",
        "create a savings goal of {amount}",
        "help me save for a car",
        "how long to save {amount}",
        "start a goal for my wedding",
        "put aside {amount} every month",
    ],
    "credit_score": [
        "what is my credit score",
        "check my CIBIL score",
        "how can I improve my credit score",
        "why did my credit score drop",
        "show credit report",
        "is my cibil good enough for a loan",
    ],
    "fraud_report": [
        "I see a transaction I did not make",
        "report fraud on my account",
        "there is an unknown charge of {amount} from {merchant}",
        "someone used my card at {merchant}",
        "suspicious payment of {amount}",
        "I got scammed, help",
    ],
    "update_profile": [
        "change my phone number",
        "update my email address",
        "I moved, update my address",
        "edit my profile details",
        "change the name on my account",
        "update KYC details",
    ],
    "reset_password": [
        "reset my password",
        "I forgot my password",
        "cannot log in, forgot PIN",
        "change my login PIN",
        "how do I reset my mpin",
        "locked out of the app",
    ],
    "open_account": [
        "open a new {account} account",
        "I want to open an account",
        "how do I create a {account} account",
        "start a fixed deposit",
        "open a recurring deposit",
        "new account for my kid",
    ],
    "close_account": [
        "close my {account} account",
        "I want to close my account",
        "how to shut down my account",
        "deactivate my account",
        "terminate my {account} account",
        "close the fixed deposit early",
    ],
    "upi_issue": [
        "my UPI payment failed",
        "UPI transaction of {amount} is pending",
        "money debited but {payee} did not get it",
        "upi not working",
        "payment to {merchant} failed but amount deducted",
        "UPI pin not accepted",
    ],
    "refund_status": [
        "where is my refund from {merchant}",
        "refund of {amount} not received",
        "status of my {merchant} refund",
        "when will I get my money back from {merchant}",
        "track refund",
        "refund still pending",
    ],
    "subscription_management": [
        "cancel my Netflix subscription",
        "show my active subscriptions",
        "stop the auto debit for {merchant}",
        "which subscriptions am I paying for",
        "pause my gym membership payment",
        "manage recurring payments",
    ],
    "tax_help": [
        "how much tax do I owe",
        "help me save tax",
        "which investments save tax under 80C",
        "download my tax statement",
        "file my income tax return",
        "tax on my fixed deposit interest",
    ],
    "insurance_enquiry": [
        "do I need term insurance",
        "show my insurance policies",
        "health insurance options",
        "claim my car insurance",
        "when is my insurance premium due",
        "compare life insurance plans",
    ],
    "exchange_rate": [
        "what is the dollar rate today",
        "convert {amount} to dollars",
        "euro to rupee rate",
        "how much is 100 USD in INR",
        "exchange rate for pounds",
        "forex rate for my trip",
    ],
    "greeting": [
        "hi",
        "hello there",
        "good morning",
        "hey Nivesh",
        "namaste",
        "hi, how are you",
    ],
    "human_agent": [
        "talk to a human",
        "connect me to customer care",
        "I want to speak to an agent",
        "call me back",
        "customer support please",
        "this bot is not helping, get me a person",
    ],
}
PREFIXES = ["", "", "", "please ", "hey ", "can you ", "pls ", "quick question, ", "nivesh, "]
SUFFIXES = ["", "", "", " please", " asap", "?", " thanks", " now", "!!"]


def _amount(rng: random.Random) -> str:
    value = rng.choice([250, 500, 1200, 2000, 5000, 7500, 10000, 25000, 50000, 100000])
    return rng.choice([f"Rs {value}", f"₹{value:,}", f"{value} rupees", f"INR {value}", f"{value // 1000}k"])


def _typo(text: str, rng: random.Random) -> str:
    """Swap or drop one letter of one word, as thumbs do."""
    words = text.split()
    candidates = [i for i, word in enumerate(words) if len(word) > 3 and word.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word, j = words[i], rng.randrange(1, len(words[i]) - 1)
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :] if rng.random() < 0.5 else word[:j] + word[j + 1 :]
    return " ".join(words)


def _utterance(template: str, rng: random.Random, typo_rate: float) -> str:
    text = template.format(
        amount=_amount(rng),
        payee=rng.choice(PAYEES),
        merchant=rng.choice(MERCHANTS),
        bill=rng.choice(BILLS),
        category=rng.choice(CATEGORIES),
        period=rng.choice(PERIODS),
        account=rng.choice(ACCOUNTS),
        fund=rng.choice(FUNDS),
    )
    text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
    if rng.random() < typo_rate:
        text = _typo(text, rng)
    return text.lower() if rng.random() < 0.5 else text[0].upper() + text[1:]


def intent_examples(per_intent: int = 60, seed: int = 7, typo_rate: float = 0.15) -> pd.DataFrame:
    """`per_intent` messages for each of the intents, shuffled."""
    rng = random.Random(seed)
    rows = [
        {TEXT: _utterance(rng.choice(templates), rng, typo_rate), LABEL: intent}
        for intent, templates in TEMPLATES.items()
        for _ in range(per_intent)
    ]
    rng.shuffle(rows)
    return pd.DataFrame(rows)
