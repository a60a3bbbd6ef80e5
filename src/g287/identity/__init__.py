"""Identity: which printed rows are one agency, one agreement, one pending entry.

One concern in one package, behind the small interface the history fold calls:

- :mod:`~g287.identity.resolve`: a row's agency from its state and spelling (aliases, the
  canonical name key, near spellings, each join recorded with its reason);
- :mod:`~g287.identity.lineage`: between two publications, what vanished paired with what
  appeared, on evidence that adds up (links, dates, county, type, names as agencies write them);
- :mod:`~g287.identity.decisions`: the reviewed decisions, shipped and the user's own;
- :mod:`~g287.identity.review`: the queue of what the evidence did not settle.
"""
