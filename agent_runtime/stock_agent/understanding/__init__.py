"""What the user asked: tickers and company names read from the prompt."""
