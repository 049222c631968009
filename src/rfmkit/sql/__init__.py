"""SQL without a driver: the metric query builder, identifier quoting and dialect translation."""
