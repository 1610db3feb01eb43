"""target_crm."""
