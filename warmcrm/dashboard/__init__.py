"""Manager dashboards: pipeline funnel, conversion by connection and event, referrers, rep activity, warmth."""
