"""``pipeline`` input: receives what other pipelines of this process send to its address."""
from logpipe.inputs.pipeline.input import PipelineInput, PipelineInputConfig

__all__ = ["PipelineInput", "PipelineInputConfig"]
