"""``pipeline`` output: sends events to other pipelines of this process."""
from logpipe.outputs.pipeline.output import PipelineOutput, PipelineOutputConfig

__all__ = ["PipelineOutput", "PipelineOutputConfig"]
