"""Names and defaults of studies, importable without Optuna (the CLI's options show them)."""

#: How trial parameters are chosen.
SAMPLERS = ("tpe", "random", "grid")
#: Seconds between two heartbeats of a trial running on a stored study.
HEARTBEAT_S = 5
#: A running trial without a heartbeat for this many heartbeat intervals is an orphan.
GRACE_BEATS = 4
