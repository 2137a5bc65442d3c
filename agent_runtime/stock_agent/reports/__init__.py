"""PDF reports rendered from the structured records."""
