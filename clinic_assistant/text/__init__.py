"""Patient text before the NLU: one normalisation and one payload rule for every channel."""
