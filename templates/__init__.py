"""samtale's shipped templates, installed as the package ``pipeline._shipped_templates``.

This folder is the ONE copy of the shipped Word and email templates. pyproject.toml maps it into
the wheel (package-dir and package-data), so ``samtale init`` can copy it from an installed
samtale; this file only makes the folder importable for ``importlib.resources``. It is never
copied into a workspace.
"""
