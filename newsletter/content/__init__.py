"""Editorial content: articles become series of issue files, and issue files are read back."""
