"""Marshrut's adapters: the Flask app (REST API v1) and the ``marshrut`` command line."""
