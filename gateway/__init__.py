"""The consent-aware data-exchange gateway: the HTTP service agency systems call."""
