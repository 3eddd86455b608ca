"""The HTTP app: public pages (signup, confirm, unsubscribe, archive); ``create_web_app``."""
