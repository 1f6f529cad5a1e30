"""The synthetic project's Python analytics (an ``AnalyticsSpec`` per table, as in analytics/)."""
