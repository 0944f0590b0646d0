"""Marshrut's domain: definitions, cases, tasks, the business calendar and persistence.

Nothing here imports Flask or reads the environment: the user, the time and the settings
arrive as arguments. The adapters (``api/``, the CLI) call in; nothing here calls out.
"""
