"""Shared UI builders: ids, the app shell, the filter bar, page frames."""
