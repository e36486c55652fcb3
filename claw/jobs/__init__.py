"""Scheduled jobs and the heartbeat: the claw keeps looping when nobody is talking to it."""
