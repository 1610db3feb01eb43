"""The hub's side of matching: load source records, call the engine, persist the master."""
