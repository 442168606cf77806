"""The day's pipeline without an orchestrator: settings, run context, stages, their one list."""
