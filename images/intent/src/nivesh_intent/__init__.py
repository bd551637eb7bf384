"""Intent classifier: what a Nivesh user's message asks for (check_balance, transfer_money, ...).

Declared in `nivesh_contract/models/intent.toml`.
"""
