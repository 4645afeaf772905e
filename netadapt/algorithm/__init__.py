"""The NetAdapt loop: per-iteration steps (NetAdapt's, HALP's), the search, selection, stopping and measuring."""
