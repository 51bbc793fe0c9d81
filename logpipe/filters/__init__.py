"""logpipe.filters."""
