"""The story on both stores: every claim cites events that exist."""

from __future__ import annotations

from pathlib import Path

from _timeline_samples import samba_burst
from sqlalchemy import select

from rempart.forensics.detect import detect, load_rules, rule_dirs
from rempart.forensics.ingest import ingest
from rempart.forensics.query import Filters, timeline
from rempart.forensics.story import build_story
from rempart.store import open_store
from rempart.store.timeline import EVENTS


def test_story_claims_cite_stored_events(store_url: str, text_logs: Path) -> None:
    samba_burst(text_logs / "burst.log", 150)
    samba_burst(text_logs / "calm.log", 20, minute="2026/11/21 23:20")
    engine = open_store(store_url)
    ingest(engine, [text_logs], "town", scans=False)
    summary = detect(engine, "town", load_rules(rule_dirs([])))
    # The Sigma correlation fires once for the burst (150 >= 100 in a minute), not for 20.
    assert [k for k in summary.by_rule if k.startswith("Mass SMB Writes")] != []
    assert sum(n for k, n in summary.by_rule.items() if k.startswith("Mass SMB Writes")) == 1
    story = build_story(engine, "town")
    assert [c.count for c in story.mass_smb_writes] == [150]
    (edge,) = story.lateral_movement
    assert (edge.source, edge.target, edge.logons, edge.kinds) == ("10.213.0.9", "fs1", 2, ("ssh",))
    assert edge.accounts == ("agent", "root")
    cited = {i for c in [*story.accounts, *story.mass_smb_writes] for i in c.events} | set(
        edge.events
    )
    with engine.connect() as conn:
        stored = set(conn.scalars(select(EVENTS.c.id).where(EVENTS.c.id.in_(cited))))
    assert cited and stored == cited
    assert story.first_encrypted is None  # no scan in this incident
    # Filters of the merged timeline work on this store too.
    rows = list(timeline(engine, "town", Filters(host="FS1", account="agent")))
    assert rows and {r["host"] for r in rows} == {"fs1"}
