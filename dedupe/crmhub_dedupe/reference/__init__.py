"""Reference tables of the normalize stage (data files only; loaded by ``normalize._reference``).

Every table here is plain CSV with a header row; lines starting with ``#`` are comments.
Edit the data, not the code: the loaders cache each table once per process.
"""
