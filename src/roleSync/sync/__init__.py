"""Runs: pull, plan, apply and report, with their journal and state."""
