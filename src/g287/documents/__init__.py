"""MOA documents as data: text (text layer or OCR), fields with their page and span, search, diff.

One module per job: :mod:`text` reads pages out of PDF bytes, :mod:`fields` finds the
fields in those pages (pure), :mod:`diff` aligns two documents paragraph by paragraph
(pure), :mod:`library` keeps all of it in the store and answers search and checks.
"""
