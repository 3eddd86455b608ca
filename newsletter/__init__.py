"""newsletter: long articles become newsletter series, delivered to confirmed subscribers."""

__version__ = "0.1.0"
