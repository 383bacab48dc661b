"""The evidence locker: acquisition, hashes, chain of custody, sealed export, verification."""

from rempart.forensics.evidence._acquire import Acquired, acquire
from rempart.forensics.evidence._custody import ACTIONS, MANUAL_ACTIONS, Entry, append, entries
from rempart.forensics.evidence._errors import AcquisitionError, EvidenceError, UnknownError
from rempart.forensics.evidence._findings import Finding, Kind
from rempart.forensics.evidence._hashing import Digests, hash_fd
from rempart.forensics.evidence._keys import PublicKey, Signer, create_key, load_signer, public_keys
from rempart.forensics.evidence._package import Exported, export
from rempart.forensics.evidence._records import ItemView, item_id, items, label
from rempart.forensics.evidence._verify import Report, verify_package, verify_store

__all__ = [
    "ACTIONS",
    "MANUAL_ACTIONS",
    "Acquired",
    "AcquisitionError",
    "Digests",
    "Entry",
    "EvidenceError",
    "Exported",
    "Finding",
    "ItemView",
    "Kind",
    "PublicKey",
    "Report",
    "Signer",
    "UnknownError",
    "acquire",
    "append",
    "create_key",
    "entries",
    "export",
    "hash_fd",
    "item_id",
    "items",
    "label",
    "load_signer",
    "public_keys",
    "verify_package",
    "verify_store",
]
