"""The evidence locker: acquisition, hashes, chain of custody, sealed export, verification."""
