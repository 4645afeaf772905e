"""Run folders, atomic writes and resume."""
