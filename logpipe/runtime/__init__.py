"""logpipe.runtime."""
