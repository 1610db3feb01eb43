"""Publishing the master to targets: tap-crmhub (the master as a Singer tap) and the runner
that pipes it into a target process and records what the CRM accepted (publish_record)."""
