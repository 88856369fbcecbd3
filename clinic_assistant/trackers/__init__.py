"""Cheap reads of the tracker store that do not load a whole conversation."""
