"""Choosing the curated answer: by meaning (sentence embeddings) and by context."""
