"""The report's code as it was before session 13: the reference its output is checked against."""
