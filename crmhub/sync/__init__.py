"""`crmhub sync`: ingest, match and publish as one locked, recorded, resumable run.

Submodules: ``service`` (the run), ``deletions`` (full-table and tombstone deletes),
``notify`` (webhook and email), ``cron`` and ``scheduler`` (schedules), ``units`` (crontab
lines and systemd timers for host scheduling).
"""
