"""A synthetic banking-assistant data set: 24 intents, several phrasings each, slots, typos and fillers.

Hard enough to judge a model: some phrasings say what they want without the intent's key words, and a share
of messages is ambiguous between two intents (annotators label such a message either way), so even a perfect
model scores clearly below 1.0 on it, while a good one stays above the gates.
"""

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
        "am I broke yet",
        "do I have enough to cover rent {period}",
    ],
    "transfer_money": [
        "send {amount} to {payee}",
        "transfer {amount} to {payee}",
        "pay {payee} {amount}",
        "move {amount} from {account} to {payee}",
        "I want to send money to {payee}",
        "can you wire {amount} to {payee} today",
        "{payee} needs {amount}, can you handle it",
        "split the dinner bill with {payee}, send my share",
    ],
    "bill_payment": [
        "pay my {bill} bill",
        "pay the {bill} bill of {amount}",
        "my {bill} bill is due, pay it",
        "settle the {bill} bill",
        "clear {bill} dues",
        "recharge my {bill}",
        "the {bill} guys sent a reminder again",
        "avoid late fee on {bill}",
    ],
    "investment_advice": [
        "should I invest in {fund}",
        "where should I invest {amount}",
        "is {fund} a good investment",
        "suggest some good investments",
        "how do I start investing in {fund}",
        "best place to put {amount} for 5 years",
        "I have {amount} sitting idle, what now",
        "is now a good time to buy {fund}",
    ],
    "spending_summary": [
        "how much did I spend {period}",
        "show my spending {period}",
        "spending summary for {period}",
        "where did my money go {period}",
        "give me a breakdown of my expenses {period}",
        "total expenses {period}",
        "am I overspending on {category}",
        "where is all my salary going",
    ],
    "card_block": [
        "block my card",
        "my card is lost, block it",
        "freeze my debit card",
        "someone stole my credit card",
        "please block card ending 4321",
        "disable my card immediately",
        "left my wallet in the cab, cards inside",
        "stop all payments on my card right now",
    ],
    "loan_enquiry": [
        "can I get a personal loan of {amount}",
        "what is the interest rate on home loans",
        "am I eligible for a loan",
        "apply for a car loan",
        "loan options for {amount}",
        "how much loan can I get",
        "need {amount} urgently for a medical emergency, options?",
        "can I borrow against my FD",
    ],
    "transaction_history": [
        "show my last transactions",
        "list transactions {period}",
        "what did I pay to {merchant}",
        "show payments to {merchant} {period}",
        "recent transactions on my {account} account",
        "transaction history please",
        "did the {merchant} payment go through {period}",
        "find that payment I made to {payee}",
    ],
    "budget_setting": [
        "set a budget of {amount} for {category}",
        "limit my {category} spending to {amount}",
        "create a monthly budget",
        "I want to spend only {amount} on {category}",
        "set {category} budget",
        "help me make a budget for {period}",
        "I keep blowing money on {category}, put a cap",
        "warn me when {category} crosses {amount}",
    ],
    "savings_goal": [
        "I want to save {amount} for a trip",
        "create a savings goal of {amount}",
        "help me save for a car",
        "how long to save {amount}",
        "start a goal for my wedding",
        "put aside {amount} every month",
        "I want {amount} by next Diwali",
        "keep some money aside for emergencies",
    ],
    "credit_score": [
        "what is my credit score",
        "check my CIBIL score",
        "how can I improve my credit score",
        "why did my credit score drop",
        "show credit report",
        "is my cibil good enough for a loan",
        "will missing an EMI hurt me",
        "what do lenders see about me",
    ],
    "fraud_report": [
        "I see a transaction I did not make",
        "report fraud on my account",
        "there is an unknown charge of {amount} from {merchant}",
        "someone used my card at {merchant}",
        "suspicious payment of {amount}",
        "I got scammed, help",
        "got an OTP I never asked for and then money vanished",
        "{merchant} took {amount} without my permission",
    ],
    "update_profile": [
        "change my phone number",
        "update my email address",
        "I moved, update my address",
        "edit my profile details",
        "change the name on my account",
        "update KYC details",
        "my number changed",
        "wrong date of birth in the app",
    ],
    "reset_password": [
        "reset my password",
        "I forgot my password",
        "cannot log in, forgot PIN",
        "change my login PIN",
        "how do I reset my mpin",
        "locked out of the app",
        "the app keeps saying wrong PIN",
        "I can't get in",
    ],
    "open_account": [
        "open a new {account} account",
        "I want to open an account",
        "how do I create a {account} account",
        "start a fixed deposit",
        "open a recurring deposit",
        "new account for my kid",
        "my wife wants an account too",
        "do you have a zero balance account",
    ],
    "close_account": [
        "close my {account} account",
        "I want to close my account",
        "how to shut down my account",
        "deactivate my account",
        "terminate my {account} account",
        "close the fixed deposit early",
        "I'm done with this bank",
        "move everything out and shut it",
    ],
    "upi_issue": [
        "my UPI payment failed",
        "UPI transaction of {amount} is pending",
        "money debited but {payee} did not get it",
        "upi not working",
        "payment to {merchant} failed but amount deducted",
        "UPI pin not accepted",
        "QR scan at {merchant} keeps failing",
        "collect request from {payee} is stuck",
    ],
    "refund_status": [
        "where is my refund from {merchant}",
        "refund of {amount} not received",
        "status of my {merchant} refund",
        "when will I get my money back from {merchant}",
        "track refund",
        "refund still pending",
        "returned the order to {merchant} two weeks ago, no money yet",
        "cancelled ticket, money?",
    ],
    "subscription_management": [
        "cancel my Netflix subscription",
        "show my active subscriptions",
        "stop the auto debit for {merchant}",
        "which subscriptions am I paying for",
        "pause my gym membership payment",
        "manage recurring payments",
        "I don't watch Prime anymore",
        "what is eating {amount} every month automatically",
    ],
    "tax_help": [
        "how much tax do I owe",
        "help me save tax",
        "which investments save tax under 80C",
        "download my tax statement",
        "file my income tax return",
        "tax on my fixed deposit interest",
        "do I need to show my FD interest anywhere",
        "form 16 question",
    ],
    "insurance_enquiry": [
        "do I need term insurance",
        "show my insurance policies",
        "health insurance options",
        "claim my car insurance",
        "when is my insurance premium due",
        "compare life insurance plans",
        "my parents need cover for hospital bills",
        "is my bike insured",
    ],
    "exchange_rate": [
        "what is the dollar rate today",
        "convert {amount} to dollars",
        "euro to rupee rate",
        "how much is 100 USD in INR",
        "exchange rate for pounds",
        "forex rate for my trip",
        "travelling to Dubai, what will I get for {amount}",
        "how many dollars is {amount}",
    ],
    "greeting": [
        "hi",
        "hello there",
        "good morning",
        "hey Nivesh",
        "namaste",
        "hi, how are you",
        "yo",
        "good evening Nivesh",
    ],
    "human_agent": [
        "talk to a human",
        "connect me to customer care",
        "I want to speak to an agent",
        "call me back",
        "customer support please",
        "this bot is not helping, get me a person",
        "I need to complain",
        "let me talk to someone real",
    ],
}
# Messages two intents can claim, and the intents annotators gave them: no model can get all of them right.
AMBIGUOUS = {
    "pay {payee} for the {bill}": ("transfer_money", "bill_payment"),
    "{merchant} charged me {amount}": ("fraud_report", "transaction_history"),
    "I was charged twice by {merchant}": ("fraud_report", "refund_status"),
    "{amount} debited but the {merchant} order failed": ("upi_issue", "refund_status"),
    "save tax with {fund}": ("tax_help", "investment_advice"),
    "my card is not working": ("card_block", "upi_issue"),
    "need money for {category}": ("loan_enquiry", "savings_goal"),
    "how much did I pay {merchant} {period}": ("transaction_history", "spending_summary"),
    "stop paying {merchant} every month": ("subscription_management", "budget_setting"),
    "I can't access my account": ("reset_password", "human_agent"),
    "insurance premium of {amount}": ("bill_payment", "insurance_enquiry"),
    "open an FD with {amount}": ("open_account", "investment_advice"),
    "my {account} account balance looks wrong": ("check_balance", "fraud_report"),
    "change my card pin": ("reset_password", "card_block"),
    "dollar account for my trip": ("exchange_rate", "open_account"),
    "close my {merchant} autopay": ("subscription_management", "close_account"),
    "check if I can get a loan with my score": ("credit_score", "loan_enquiry"),
    "set aside {amount} for {category}": ("budget_setting", "savings_goal"),
    "hello, I need help with my account": ("greeting", "human_agent"),
    "update my address on the insurance policy": ("update_profile", "insurance_enquiry"),
}
AMBIGUOUS_BY_INTENT = {
    intent: [template for template, intents in AMBIGUOUS.items() if intent in intents] for intent in TEMPLATES
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


def _template(intent: str, rng: random.Random, ambiguous_rate: float) -> str:
    if AMBIGUOUS_BY_INTENT[intent] and rng.random() < ambiguous_rate:
        return rng.choice(AMBIGUOUS_BY_INTENT[intent])
    return rng.choice(TEMPLATES[intent])


def intent_examples(
    per_intent: int = 60, seed: int = 7, typo_rate: float = 0.15, ambiguous_rate: float = 0.1
) -> pd.DataFrame:
    """`per_intent` messages for each of the intents, shuffled; `ambiguous_rate` of them could be another's."""
    rng = random.Random(seed)
    rows = [
        {TEXT: _utterance(_template(intent, rng, ambiguous_rate), rng, typo_rate), LABEL: intent}
        for intent in TEMPLATES
        for _ in range(per_intent)
    ]
    rng.shuffle(rows)
    return pd.DataFrame(rows)
