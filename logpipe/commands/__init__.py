"""logpipe.commands."""
