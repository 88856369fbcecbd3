"""Measuring the assistant: shared by the tests and the benchmarks, never by the runtime.

``scoring`` loads the labelled sets and scores predictions on them; ``chromium``
holds the flags Debian's Chromium runs with under Playwright. The runtime package
(``clinic_assistant``) imports neither this package, nor ``tests``, nor ``bench``;
``tests`` do not import ``bench`` (``tests/unit/test_layers.py`` checks it).
"""
