"""The project's own spaCy pipeline (no pretrained English model can be downloaded here).

See :mod:`clinic_assistant.nlp.pipeline`; it is not imported here so that
``python -m clinic_assistant.nlp.pipeline`` runs it cleanly as a script.
"""
