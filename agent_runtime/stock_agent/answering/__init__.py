"""The text the model writes, checked against the records: the narrative and follow-up answers."""
