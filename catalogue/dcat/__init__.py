"""DCAT-AP 3 / DCAT-AP-NO descriptions of datasets, and the open-data publishing job.

Nothing is imported here on purpose: import the module you need. Only ``graph`` (rdflib
graphs of the descriptions, for tests and tools) pulls in rdflib, which the application
never imports: feeds are written directly (``statements``, ``serialization``).
"""

from __future__ import annotations
