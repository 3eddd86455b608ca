"""The audience: people, their lists and their consent, from signup to unsubscribe."""
