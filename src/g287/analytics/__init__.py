"""Figures the press cites, computed from the history, each naming its publication."""
