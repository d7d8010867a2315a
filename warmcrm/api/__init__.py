"""The JSON API (/api/v1/), its tokens, the inbound-lead endpoint and the calendar feed."""
