"""logpipe.outputs."""
