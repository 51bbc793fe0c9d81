"""logpipe.inputs."""
