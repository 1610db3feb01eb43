"""crmhub_dedupe."""
