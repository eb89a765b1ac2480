"""Helpers of scripts/record_corpus.py: the X session, the workloads, their assets."""
