"""g287: a trustworthy history of ICE's 287(g) agreements, rebuilt from every published sheet."""

__version__ = "0.1.0"
