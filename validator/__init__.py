"""backflush-validator: checks an Epicor Kinetic site's data before material backflush is used."""

__version__ = "0.1.0"
