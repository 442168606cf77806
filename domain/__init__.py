"""The bottom layer: the business rules every part of shopcast agrees on, and where the
project's shipped files live. Imports nothing of the project."""
