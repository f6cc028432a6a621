"""ETL: partner extracts → validated, located, deduplicated incidents published as Parquet snapshots.

A partner is described by a profile (``profile``, checked against ``profile_schema``), never by code; ``sniff``
drafts one from a file. For each file, ``prepare`` runs the guards (``guards``), the reader (``read``) and the
pure steps — map/validate (``mapping``, with ``times`` and ``columns``), locate (``locate``, ``places``); then
``dedup`` decides new / revision / duplicate, and ``pipeline.ingest`` publishes one snapshot (``partitions``,
``store``).
"""

from observatory.etl.pipeline import FileReport, IngestResult, check_file, ingest
from observatory.etl.profile import Profile, ProfileError, load_profile
from observatory.etl.read import InputError

__all__ = ["FileReport", "IngestResult", "InputError", "Profile", "ProfileError", "check_file", "ingest", "load_profile"]
