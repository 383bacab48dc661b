"""Guard: watch a share live, detect encryption in progress, respond."""
