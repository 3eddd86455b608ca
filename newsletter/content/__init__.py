"""Editorial content: articles become series of issue files, and issue files are read back.

Pure parsing (no file I/O):

* ``article``       the result type (Article, Section, Unit) and grouping into sections
* ``detect``        which format a file is in (extension, else content)
* ``text_source``   plain text copied from a web page (headings recognised by shape)
* ``markdown_source`` Markdown, sliced from the source so the author's text is kept
* ``html_source``   HTML pages (beautifulsoup4 + markdownify)
* ``chrome``        the trailing signup call-to-action that is page furniture
* ``parse``         one entry point for every format
* ``series_plan``   Article → issue file names, front matter and bodies
* ``reimport``      what a re-import may overwrite (hashes recorded in series.toml)
* ``words``         plain words of Markdown, first sentence, cutting at a word

The edges that touch files: ``importer`` (``import-article``) and ``issuefile``
(reading and writing the issue files staff edit).
"""
