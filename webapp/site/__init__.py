"""The dataset as a whole: ``dataset`` (the home page, the VoID description, the dump) and
``health`` (/healthz, and the answer when the store is unavailable), a blueprint each.
"""
