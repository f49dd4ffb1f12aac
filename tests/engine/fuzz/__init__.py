"""Hypothesis fuzzing of graphs and project files: a mistake gets a typed error, never a
traceback. `strategies` draws the inputs, `cases` checks one of them; the tests here and
``bench/fuzz_soak.py`` share both."""
