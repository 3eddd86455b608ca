"""The HTTP app: public pages (signup, confirm, unsubscribe, archive); ``create_web_app``.

A thin layer: each router reads the request, calls one service and maps
``NewsletterError`` subclasses to a status (``errors``). ``pages`` renders the
HTML, ``forms`` reads request bodies, ``security`` adds headers and caps
bodies, ``limits`` admits signups per IP, ``client`` says who is asking.
"""
