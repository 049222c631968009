"""Built-in segment maps, stored as YAML package data; load them with rfmkit.load_segment_map."""
