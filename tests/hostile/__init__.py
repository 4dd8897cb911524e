"""Adversarial inputs from the hostile-feeds issue, one test per listed case."""
