"""Customisation: run records, the datasets built from them, the reward, the training job."""
