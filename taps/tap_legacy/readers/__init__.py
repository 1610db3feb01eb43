"""One reader per legacy format; each turns files into records with lineage."""
