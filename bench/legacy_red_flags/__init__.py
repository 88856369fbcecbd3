"""Today's red-flag detector, frozen for side-by-side figures in `make bench`.

A verbatim copy of ``clinic_assistant/red_flags/{context,detector,lexicon}.py`` and
``clinic_assistant/lexicons/red_flags.yml`` at commit 9106d50 (main before issue 7),
with only the imports and the lexicon path pointed here. Never used by the assistant.
Refresh: ``git show 9106d50:clinic_assistant/red_flags/detector.py`` etc.
"""
