"""DCAT-AP 3 / DCAT-AP-NO descriptions of datasets, and the open-data publishing job.

Nothing is imported here on purpose: ``graph`` pulls in rdflib, which the API must not pay
for at start-up. Import the module you need (``catalogue.dcat.negotiation`` and
``catalogue.dcat.publishability`` stay free of rdflib).
"""

from __future__ import annotations
