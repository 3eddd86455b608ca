"""Editorial content: articles become series of issue files, and issue files are read back.

Pure (no file I/O), in the order an import runs:

* ``detect``         which format a file is in (extension, else content)
* ``text_source``    plain text copied from a web page (headings recognised by shape)
* ``markdown_source`` Markdown and CMS exports, sliced from the source
* ``html_source``    saved web pages: the extractor finds the article, the rest is reported
  (``html_blocks`` turns elements into blocks, ``extract`` wraps trafilatura and
  readability-lxml, ``page_regions`` names navigation, sidebars, share bars...)
* ``parse``          one entry point for every format
* ``article``        what parsers return: units (headings, blocks) and dropped entries
* ``chrome``         bylines, share bars, calls to action... anywhere (wording in ``chrome_rules``)
* ``links``          relative links and images made absolute, or reported
* ``proposal``       the split into issues, with word counts, flags, dropped blocks, warnings
* ``adjust``         merge and split a proposal; the record that re-imports replay
* ``series_plan``    proposal → issue file names, front matter and bodies
* ``subjects``       default subjects, and "part N of M" computed when rendered
* ``frontmatter``    YAML written by a dumper, read with errors that say the fix
* ``reimport``       what a re-import may overwrite (hashes recorded in series.toml)
* ``words``          plain words of Markdown, first sentence, cutting at a word

The edges that touch files: ``importer`` (``import-article``), ``issuefile``
(reading and writing the issue files staff edit, their one SHA-256, and the
subject as sent) and ``lists`` (reading ``subscribers/lists.toml``; the
catalog mirrors it into the database).
"""
