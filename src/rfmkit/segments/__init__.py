"""Named segments as data: segment maps, their rules, audits and the built-in maps."""
