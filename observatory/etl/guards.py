"""Guards run before a partner file is parsed, on every path (command line, browser upload, demo).

An XLSX is a zip of XML parts: before openpyxl opens it the archive is checked for the shape of a workbook, for
zip bombs (members that expand far more than a sheet does, total size, member count), for a DTD in any XML part
(entity bombs and external entities need one; Excel never writes one), and for truncation (an interrupted copy).
Each refusal is one French sentence naming the file and the member at fault.
"""

from __future__ import annotations

import errno
import zipfile
from pathlib import Path
from typing import IO

# A real partner workbook's sheet XML compresses 5-40x; bombs reach 1000x and more.
MAX_UNCOMPRESSED_BYTES = 300 * 1024 * 1024
MAX_MEMBER_RATIO = 150
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # small members may compress well without being a threat
MAX_MEMBERS = 2000
XLSX_REQUIRED = ("[Content_Types].xml", "xl/workbook.xml")
ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = b"\xd0\xcf\x11\xe0"


class GuardError(ValueError):
    """The file must not be parsed; the message (French, one line) says why."""


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} Mo".replace(".", ",")


def open_xlsx_archive(source: Path | IO[bytes], name: str) -> zipfile.ZipFile:
    """The workbook's zip archive, or GuardError: not a zip, an .xls renamed, a truncated or corrupt archive."""
    try:
        if isinstance(source, Path):
            with open(source, "rb") as fh:
                head = fh.read(8)
        else:
            pos = source.tell()
            head = source.read(8)
            source.seek(pos)
    except OSError as exc:
        raise GuardError(f"{name} : lecture impossible ({exc.strerror or exc.__class__.__name__})") from None
    if head.startswith(CFB_MAGIC):
        raise GuardError(f"{name} : classeur Excel 97-2003 (.xls) ; enregistrez-le au format .xlsx")
    if not head.startswith(ZIP_MAGIC):
        raise GuardError(f"{name} : le contenu n'est pas un classeur Excel .xlsx (signature zip absente)")
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        # A zip signature at the start but no central directory at the end: the copy stopped before the end.
        raise GuardError(f"{name} : classeur Excel .xlsx illisible : archive tronquée ou endommagée ({exc}) ; "
                         f"le fichier a sans doute été coupé pendant la copie ou le téléchargement : demandez un nouvel envoi") from None
    except (zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise GuardError(f"{name} : classeur Excel .xlsx illisible ({exc})") from None


def check_xlsx_archive(archive: zipfile.ZipFile, name: str, *, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES,
                       max_ratio: float = MAX_MEMBER_RATIO, max_members: int = MAX_MEMBERS) -> None:
    """Refuse (GuardError) an archive that is not a workbook, a zip bomb, an encrypted workbook or XML with a DTD."""
    members = archive.infolist()
    if len(members) > max_members:
        raise GuardError(f"{name} : {len(members)} éléments dans l'archive, au plus {max_members} attendus")
    names = {m.filename for m in members}
    missing = [m for m in XLSX_REQUIRED if m not in names]
    if missing:
        raise GuardError(f"{name} : archive zip qui n'est pas un classeur Excel (manque {', '.join(missing)})")
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise GuardError(f"{name} : classeur chiffré ou protégé par mot de passe ({member.filename})")
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECK_MIN_BYTES and ratio > max_ratio:
            raise GuardError(f"{name} : {member.filename} se décompresse {ratio:.0f} fois (au plus {max_ratio:.0f}) : bombe de décompression refusée")
    if total > max_uncompressed:
        raise GuardError(f"{name} : {_mb(total)} une fois décompressé (au plus {_mb(max_uncompressed)}) : refusé")
    for member in members:
        if member.filename.lower().endswith((".xml", ".rels", ".vml")):
            check_xml_prolog(archive, member, name)


def check_xml_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    """Refuse any DTD. A DTD can only sit before the root element, so parsing stops at the root's start tag."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        with archive.open(member) as fh:
            for _event, _elem in iterparse(fh, events=("start",), forbid_dtd=True, forbid_entities=True, forbid_external=True):
                break
    except DefusedXmlException:
        raise GuardError(f"{name} : {member.filename} déclare une DTD ou des entités XML (ce qu'Excel n'écrit jamais ; "
                         f"moyen des attaques XXE et « billion laughs ») : refusé") from None
    except ParseError as exc:
        raise GuardError(f"{name} : {member.filename} n'est pas du XML valide ({exc})") from None
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise GuardError(f"{name} : {member.filename} illisible : archive tronquée ou endommagée ({exc})") from None
    except (OSError, RuntimeError) as exc:
        raise GuardError(f"{name} : {member.filename} illisible dans l'archive ({exc})") from None


def check_xlsx_file(path: Path, name: str | None = None) -> None:
    """The whole XLSX guard for a file on disk (command line, demo, staged upload)."""
    name = name or path.name
    with open_xlsx_archive(path, name) as archive:
        check_xlsx_archive(archive, name)


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC (or a quota), also when pyarrow reports it as an IOError without errno."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk quota" in text


def disk_error_message(exc: OSError, where: Path) -> str:
    """A French sentence for a write that failed: disk full said as such, other system errors named."""
    if is_disk_full(exc):
        return f"disque plein : plus d'espace libre pour écrire dans {where} ; rien n'a été publié, libérez de l'espace puis recommencez"
    return f"écriture impossible dans {where} ({exc.strerror or exc.__class__.__name__}) ; rien n'a été publié"
