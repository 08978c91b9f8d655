"""Reading what a board prints: the Parser contract and Record (parse.py)."""
