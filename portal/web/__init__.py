"""HTTP plumbing shared by every blueprint: request facts, errors, filters."""
