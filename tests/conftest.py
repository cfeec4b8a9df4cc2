import os

os.environ.setdefault("MPLBACKEND", "Agg")  # headless: explorers render to PNG image widgets
