"""Who an alarm is about: the SMB client behind an smbd process, and the account behind
clients (`users`). Kept apart from the loop of `engine`, which only asks."""

from __future__ import annotations

import os
import time

from rempart.guard.alarm import Actor, ActorKind, Alarm
from rempart.guard.correlate import Client, Correlator, command_of
from rempart.guard.scoring import ActorState, Scorer
from rempart.guard.users import Users

#: how long an alarm on an smbd process waits for the audit log to name its client
NAME_WAIT = 1.5


class Attribution:
    def __init__(self, root: str, corr: Correlator, scorer: Scorer, users: Users) -> None:
        self.root = root
        self.corr = corr
        self.scorer = scorer
        self.users = users

    def name(self, state: ActorState, *, audited: bool) -> Actor | None:
        """The actor to alarm about `state`: its SMB client when the audit names one; None
        while an smbd process waits (at most NAME_WAIT seconds) for the audit to name it."""
        a = state.actor
        if a.kind is not ActorKind.PROCESS:
            return a
        paths = [os.path.join(self.root, p) for p in state.paths]
        client = self.corr.actor(a.pid, paths)
        if client is not None:
            return client
        waited = time.monotonic() - (state.due_since or 0.0)
        if a.pid is not None and self.corr.smbd(a.pid) and audited and waited < NAME_WAIT:
            return None
        return Actor(ActorKind.PROCESS, pid=a.pid, command=command_of(a.pid) if a.pid else None)

    def account_alarm(self, actor: Actor, state: ActorState, incident: str | None) -> Alarm | None:
        """Add `state` to its account's score, with the smbd children's states of the same
        client (their writes may have been scored before the audit log named them); the
        account's alarm when it has just crossed the threshold."""
        client = self.client(actor)
        if client is None:
            return None
        states = [state]
        for pid in self.corr.pids_of(client):
            found = self.scorer.actors.get(Actor(ActorKind.PROCESS, pid=pid).key)
            if found is not None and found is not state:
                states.append(found)
        crossed = [self.users.scored(client.user, client.address, s) for s in states]
        return self.users.alarm(client.user or "", incident) if any(crossed) else None

    def client(self, actor: Actor) -> Client | None:
        """The SMB client (address and account) behind `actor`, when the audit named one."""
        if actor.kind is ActorKind.SMB_CLIENT and actor.address and actor.user:
            return Client(actor.address, actor.user)
        if actor.kind is ActorKind.PROCESS and actor.pid is not None and self.corr.smbd(actor.pid):
            found = self.corr.client_of_pid(actor.pid)
            return found if found is not None and found.user else None
        return None
