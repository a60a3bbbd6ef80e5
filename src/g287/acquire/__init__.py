"""Acquisition: fetch ICE's sheets and MOA documents, watch for updates, import archives."""
