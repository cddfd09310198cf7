"""Model registry, backbones and super-resolution networks (timm-style).

>>> from sarsr.models import create_model, list_models
>>> list_models("shvit*")
['shvit_s1', 'shvit_s2', 'shvit_s3', 'shvit_s4']
>>> net = create_model("mobile_srvit")            # the paper's 69,122-parameter network
>>> net = reparameterize(net)                      # fold BN / residuals for inference

Every model offers ``forward``, ``forward_features`` and (backbones) ``forward_head``,
``forward_intermediates`` and ``feature_info``.
"""

from ..nn import reparameterize
from . import detect, efficientvim, mobilevit, shvit, srvit, vit  # noqa: F401  (registers the models)
from .complexity import count_macs, count_params, cpu_latency_ms
from .registry import (create_model, input_transform, list_models, model_entry, model_state, names_shipped_weights, register_model,
                       weights_path)
from .runs import FILE_PREFIX, SHIPPED_PREFIX, build_kwargs, load_run, parse_spec, resolve, resolve_state
from .srvit import POINT_CHANNELS

__all__ = ["create_model", "input_transform", "list_models", "model_entry", "model_state", "register_model", "weights_path", "names_shipped_weights",
           "load_run", "build_kwargs", "resolve", "resolve_state", "parse_spec", "FILE_PREFIX", "SHIPPED_PREFIX",
           "reparameterize", "count_params", "count_macs", "cpu_latency_ms", "POINT_CHANNELS"]
