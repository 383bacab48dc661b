"""rempart guard: watch a share live, detect encryption in progress, respond.

Detection (sources, baseline, indicators, scores) lives here; responders live in
`rempart.guard.respond`; `rempart.guard.alarm` is the contract between the two.
"""
