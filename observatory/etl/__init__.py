"""ETL: partner extracts → validated, located, deduplicated incidents published as Parquet snapshots.

read (``read``) → map/validate (``mapping``, with ``times`` and ``columns``) → locate (``locate``, ``places``), all
pure → deduplicate → publish (``store``), driven by ``pipeline.ingest``. A partner is described by a profile (``profile``), never by code.
"""

from observatory.etl.pipeline import FileReport, IngestResult, check_file, ingest
from observatory.etl.profile import Profile, ProfileError, load_profile
from observatory.etl.read import InputError

__all__ = ["FileReport", "IngestResult", "InputError", "Profile", "ProfileError", "check_file", "ingest", "load_profile"]
