"""Codecs: how inputs turn bytes into events and outputs turn events into bytes.

A plugin's ``codec`` setting (:data:`CodecSetting`) names one, with options when
it has them; codecs are registered by name in the ``logpipe.codecs`` entry-point
group. See ``docs/plugins-io.md``.
"""
from logpipe.codecs.base import Codec, CodecConfig, CodecDirectionError, StreamDecoder
from logpipe.codecs.registry import build, get, names, register
from logpipe.codecs.setting import CodecSetting, CodecSpec, check_codec, codec_field, spec

__all__ = ["Codec", "CodecConfig", "CodecDirectionError", "CodecSetting", "CodecSpec", "StreamDecoder",
           "build", "check_codec", "codec_field", "get", "names", "register", "spec"]
