"""logpipe.core."""
