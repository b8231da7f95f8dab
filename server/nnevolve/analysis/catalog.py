"""The table of torch callables that nnevolve tags, and the line type of each.

Built once at import time into one dict keyed by qualified name, so the analysis pays a
single dict lookup per call site. The table is static on purpose: the analysis never
imports torch (tests check it against the installed torch instead).
"""

from __future__ import annotations

from dataclasses import dataclass

Signature = tuple[str, ...]


@dataclass(frozen=True)
class CatalogEntry:
    """One taggable callable.

    ``args`` are its positional parameters in order (enough to bind positional arguments);
    ``hidden`` are the ones a detail never shows (tensors, the optimizer, ``inplace``, ...);
    ``formula`` names the torch class whose detail and parameter-count rule applies (None:
    the generic ``Name k=v, ...`` detail and no count).
    """

    type: str
    name: str
    short: str
    args: Signature
    hidden: frozenset[str]
    formula: str | None
    is_module: bool
    base: str | None = None  # for a same-file subclass: the torch class it derives from


# Arguments that are data or plumbing rather than settings of the layer.
_ALWAYS_HIDDEN = frozenset({"inplace", "device", "dtype", "_stacklevel", "size_average", "reduce"})
_DATA_ARGS = frozenset(
    {
        "input", "target", "input1", "input2", "anchor", "positive", "negative", "logits",
        "log_probs", "targets", "input_lengths", "target_lengths", "var", "indices", "weight",
        "bias", "running_mean", "running_var", "training", "train", "use_input_stats",
        "cudnn_enabled", "cudnn_enable",
    }
)  # fmt: skip

_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
         "bias", "padding_mode")  # fmt: skip
_CONV_T = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
           "groups", "bias", "dilation", "padding_mode")  # fmt: skip
_BATCH_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_LAZY_NORM = ("eps", "momentum", "affine", "track_running_stats")
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
_AVG_POOL = (
    "kernel_size",
    "stride",
    "padding",
    "ceil_mode",
    "count_include_pad",
    "divisor_override",
)
_FRACTIONAL = ("kernel_size", "output_size", "output_ratio", "return_indices", "_random_samples")
_DROPOUT = ("p", "inplace")
_LOSS = ("size_average", "reduce", "reduction")
_WEIGHTED_LOSS = ("weight", "size_average", "reduce", "reduction")
_CLASS_LOSS = ("weight", "size_average", "ignore_index", "reduce", "reduction")
_RNN = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
)
_CELL = ("input_size", "hidden_size", "bias")
_TRANSFORMER_LAYER = ("d_model", "nhead", "dim_feedforward", "dropout", "activation",
                      "layer_norm_eps", "batch_first", "norm_first", "bias")  # fmt: skip
_ADAM = ("params", "lr", "betas", "eps", "weight_decay")

# torch.nn classes (looked up as torch.nn.<Name>), by line type: name -> positional parameters.
NN_MODULES: dict[str, dict[str, Signature]] = {
    "connection": {
        "Linear": ("in_features", "out_features", "bias"),
        "LazyLinear": ("out_features", "bias"),
        "Bilinear": ("in1_features", "in2_features", "out_features", "bias"),
        "Conv1d": _CONV,
        "Conv2d": _CONV,
        "Conv3d": _CONV,
        "ConvTranspose1d": _CONV_T,
        "ConvTranspose2d": _CONV_T,
        "ConvTranspose3d": _CONV_T,
        "LazyConv1d": _CONV[1:],
        "LazyConv2d": _CONV[1:],
        "LazyConv3d": _CONV[1:],
        "LazyConvTranspose1d": _CONV_T[1:],
        "LazyConvTranspose2d": _CONV_T[1:],
        "LazyConvTranspose3d": _CONV_T[1:],
        "Embedding": (
            "num_embeddings",
            "embedding_dim",
            "padding_idx",
            "max_norm",
            "norm_type",
            "scale_grad_by_freq",
            "sparse",
            "_weight",
            "_freeze",
        ),
        "EmbeddingBag": (
            "num_embeddings",
            "embedding_dim",
            "max_norm",
            "norm_type",
            "scale_grad_by_freq",
            "mode",
            "sparse",
            "_weight",
            "include_last_offset",
            "padding_idx",
        ),
        # RNN takes `nonlinearity` fourth; LSTM has `proj_size` last (torch parses *args itself)
        "RNN": (
            "input_size",
            "hidden_size",
            "num_layers",
            "nonlinearity",
            "bias",
            "batch_first",
            "dropout",
            "bidirectional",
        ),
        "LSTM": (*_RNN, "proj_size"),
        "GRU": _RNN,
        "RNNBase": ("mode", *_RNN, "proj_size"),
        "RNNCell": (*_CELL, "nonlinearity"),
        "LSTMCell": _CELL,
        "GRUCell": _CELL,
        "RNNCellBase": (*_CELL, "num_chunks"),
        "MultiheadAttention": (
            "embed_dim",
            "num_heads",
            "dropout",
            "bias",
            "add_bias_kv",
            "add_zero_attn",
            "kdim",
            "vdim",
            "batch_first",
        ),
        "TransformerEncoderLayer": _TRANSFORMER_LAYER,
        "TransformerDecoderLayer": _TRANSFORMER_LAYER,
        "TransformerEncoder": (
            "encoder_layer",
            "num_layers",
            "norm",
            "enable_nested_tensor",
            "mask_check",
        ),
        "TransformerDecoder": ("decoder_layer", "num_layers", "norm"),
        "Transformer": (
            "d_model",
            "nhead",
            "num_encoder_layers",
            "num_decoder_layers",
            "dim_feedforward",
            "dropout",
            "activation",
            "custom_encoder",
            "custom_decoder",
            "layer_norm_eps",
            "batch_first",
            "norm_first",
            "bias",
        ),
    },
    "activation": {
        "ReLU": ("inplace",),
        "ReLU6": ("inplace",),
        "LeakyReLU": ("negative_slope", "inplace"),
        "PReLU": ("num_parameters", "init"),
        "RReLU": ("lower", "upper", "inplace"),
        "ELU": ("alpha", "inplace"),
        "SELU": ("inplace",),
        "CELU": ("alpha", "inplace"),
        "GELU": ("approximate",),
        "SiLU": ("inplace",),
        "Mish": ("inplace",),
        "Sigmoid": (),
        "Tanh": (),
        "Hardtanh": ("min_val", "max_val", "inplace"),
        "Hardswish": ("inplace",),
        "Hardsigmoid": ("inplace",),
        "Hardshrink": ("lambd",),
        "Softshrink": ("lambd",),
        "Softplus": ("beta", "threshold"),
        "Softsign": (),
        "Softmax": ("dim",),
        "Softmax2d": (),
        "LogSoftmax": ("dim",),
        "Softmin": ("dim",),
        "LogSigmoid": (),
        "GLU": ("dim",),
        "Threshold": ("threshold", "value", "inplace"),
        "Tanhshrink": (),
    },
    "normalization": {
        "BatchNorm1d": _BATCH_NORM,
        "BatchNorm2d": _BATCH_NORM,
        "BatchNorm3d": _BATCH_NORM,
        "LazyBatchNorm1d": _LAZY_NORM,
        "LazyBatchNorm2d": _LAZY_NORM,
        "LazyBatchNorm3d": _LAZY_NORM,
        "SyncBatchNorm": _BATCH_NORM,
        "InstanceNorm1d": _BATCH_NORM,
        "InstanceNorm2d": _BATCH_NORM,
        "InstanceNorm3d": _BATCH_NORM,
        "LazyInstanceNorm1d": _LAZY_NORM,
        "LazyInstanceNorm2d": _LAZY_NORM,
        "LazyInstanceNorm3d": _LAZY_NORM,
        "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
        "GroupNorm": ("num_groups", "num_channels", "eps", "affine"),
        "RMSNorm": ("normalized_shape", "eps", "elementwise_affine"),
        "LocalResponseNorm": ("size", "alpha", "beta", "k"),
        "CrossMapLRN2d": ("size", "alpha", "beta", "k"),
    },
    "pooling": {
        "MaxPool1d": _MAX_POOL,
        "MaxPool2d": _MAX_POOL,
        "MaxPool3d": _MAX_POOL,
        "AvgPool1d": _AVG_POOL[:5],
        "AvgPool2d": _AVG_POOL,
        "AvgPool3d": _AVG_POOL,
        "AdaptiveAvgPool1d": ("output_size",),
        "AdaptiveAvgPool2d": ("output_size",),
        "AdaptiveAvgPool3d": ("output_size",),
        "AdaptiveMaxPool1d": ("output_size", "return_indices"),
        "AdaptiveMaxPool2d": ("output_size", "return_indices"),
        "AdaptiveMaxPool3d": ("output_size", "return_indices"),
        "LPPool1d": ("norm_type", "kernel_size", "stride", "ceil_mode"),
        "LPPool2d": ("norm_type", "kernel_size", "stride", "ceil_mode"),
        "LPPool3d": ("norm_type", "kernel_size", "stride", "ceil_mode"),
        "FractionalMaxPool2d": _FRACTIONAL,
        "FractionalMaxPool3d": _FRACTIONAL,
        "MaxUnpool1d": ("kernel_size", "stride", "padding"),
        "MaxUnpool2d": ("kernel_size", "stride", "padding"),
        "MaxUnpool3d": ("kernel_size", "stride", "padding"),
    },
    "dropout": {
        "Dropout": _DROPOUT,
        "Dropout1d": _DROPOUT,
        "Dropout2d": _DROPOUT,
        "Dropout3d": _DROPOUT,
        "AlphaDropout": _DROPOUT,
        "FeatureAlphaDropout": _DROPOUT,
    },
    "reshape": {
        "Flatten": ("start_dim", "end_dim"),
        "Unflatten": ("dim", "unflattened_size"),
        "PixelShuffle": ("upscale_factor",),
        "PixelUnshuffle": ("downscale_factor",),
        "ChannelShuffle": ("groups",),
        "Fold": ("output_size", "kernel_size", "dilation", "padding", "stride"),
        "Unfold": ("kernel_size", "dilation", "padding", "stride"),
    },
    "container": {"Sequential": (), "ModuleList": ("modules",), "ModuleDict": ("modules",)},
    "loss": {
        "L1Loss": _LOSS,
        "MSELoss": _LOSS,
        "CrossEntropyLoss": (*_CLASS_LOSS, "label_smoothing"),
        "NLLLoss": _CLASS_LOSS,
        "NLLLoss2d": _CLASS_LOSS,
        "BCELoss": _WEIGHTED_LOSS,
        "BCEWithLogitsLoss": (*_WEIGHTED_LOSS, "pos_weight"),
        "KLDivLoss": (*_LOSS, "log_target"),
        "SmoothL1Loss": (*_LOSS, "beta"),
        "HuberLoss": ("reduction", "delta"),
        "SoftMarginLoss": _LOSS,
        "MultiLabelSoftMarginLoss": _WEIGHTED_LOSS,
        "MultiLabelMarginLoss": _LOSS,
        "MultiMarginLoss": ("p", "margin", *_WEIGHTED_LOSS),
        "CosineEmbeddingLoss": ("margin", *_LOSS),
        "MarginRankingLoss": ("margin", *_LOSS),
        "HingeEmbeddingLoss": ("margin", *_LOSS),
        "TripletMarginLoss": ("margin", "p", "eps", "swap", *_LOSS),
        "TripletMarginWithDistanceLoss": (),
        "PoissonNLLLoss": ("log_input", "full", "size_average", "eps", "reduce", "reduction"),
        "GaussianNLLLoss": (),
        "CTCLoss": ("blank", "reduction", "zero_infinity"),
        "AdaptiveLogSoftmaxWithLoss": (
            "in_features",
            "n_classes",
            "cutoffs",
            "div_value",
            "head_bias",
        ),
        "LinearCrossEntropyLoss": ("in_features", "num_classes"),
    },
}

OPTIMIZERS: dict[str, Signature] = {
    "SGD": ("params", "lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "Adam": (*_ADAM, "amsgrad"), "AdamW": (*_ADAM, "amsgrad"), "Adamax": _ADAM,
    "NAdam": (*_ADAM, "momentum_decay"), "RAdam": _ADAM, "SparseAdam": ("params", "lr", "betas"),
    "Adagrad": ("params", "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"),
    "Adadelta": ("params", "lr", "rho", "eps", "weight_decay"),
    "Adafactor": ("params", "lr", "beta2_decay", "eps", "d", "weight_decay"),
    "RMSprop": ("params", "lr", "alpha", "eps", "weight_decay", "momentum", "centered"),
    "Rprop": ("params", "lr", "etas", "step_sizes"),
    "ASGD": ("params", "lr", "lambd", "alpha", "t0", "weight_decay"),
    "LBFGS": ("params", "lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change",
              "history_size", "line_search_fn"),
    "Muon": ("params", "lr", "weight_decay", "momentum", "nesterov"),
}  # fmt: skip

SCHEDULERS: dict[str, Signature] = {
    "StepLR": ("optimizer", "step_size", "gamma", "last_epoch"),
    "MultiStepLR": ("optimizer", "milestones", "gamma", "last_epoch"),
    "ExponentialLR": ("optimizer", "gamma", "last_epoch"),
    "CosineAnnealingLR": ("optimizer", "T_max", "eta_min", "last_epoch"),
    "CosineAnnealingWarmRestarts": ("optimizer", "T_0", "T_mult", "eta_min", "last_epoch"),
    "ReduceLROnPlateau": ("optimizer", "mode", "factor", "patience", "threshold"),
    "CyclicLR": ("optimizer", "base_lr", "max_lr", "step_size_up", "step_size_down", "mode"),
    "OneCycleLR": ("optimizer", "max_lr", "total_steps", "epochs", "steps_per_epoch"),
    "LambdaLR": ("optimizer", "lr_lambda", "last_epoch"),
    "MultiplicativeLR": ("optimizer", "lr_lambda", "last_epoch"),
    "ConstantLR": ("optimizer", "factor", "total_iters", "last_epoch"),
    "LinearLR": ("optimizer", "start_factor", "end_factor", "total_iters", "last_epoch"),
    "PolynomialLR": ("optimizer", "total_iters", "power", "last_epoch"),
    "SequentialLR": ("optimizer", "schedulers", "milestones", "last_epoch"),
    "ChainedScheduler": ("schedulers", "optimizer"),
}

_ACT1 = ("input", "inplace")
_F_MAX_POOL = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
               "return_indices")  # fmt: skip
_F_AVG_POOL = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
               "divisor_override")  # fmt: skip
_F_DROPOUT = ("input", "p", "training", "inplace")
_F_LOSS = ("input", "target", "size_average", "reduce", "reduction")
_F_WEIGHTED_LOSS = ("input", "target", "weight", "size_average", "reduce", "reduction")
_F_PAIR_LOSS = ("input1", "input2", "target", "margin", "size_average", "reduce", "reduction")

# functions, by line type: qualified name -> positional parameters.
FUNCTIONS: dict[str, dict[str, Signature]] = {
    "activation": {
        **{
            f"torch.nn.functional.{n}": _ACT1
            for n in ("relu", "relu6", "selu", "silu", "mish", "hardswish", "hardsigmoid")
        },
        **{
            f"torch.nn.functional.{n}": ("input",)
            for n in (
                "relu_",
                "selu_",
                "sigmoid",
                "tanh",
                "softsign",
                "tanhshrink",
                "logsigmoid",
                "gelu",
            )
        },
        "torch.nn.functional.leaky_relu": ("input", "negative_slope", "inplace"),
        "torch.nn.functional.leaky_relu_": ("input", "negative_slope"),
        "torch.nn.functional.elu": ("input", "alpha", "inplace"),
        "torch.nn.functional.elu_": ("input", "alpha"),
        "torch.nn.functional.celu": ("input", "alpha", "inplace"),
        "torch.nn.functional.celu_": ("input", "alpha"),
        "torch.nn.functional.rrelu": ("input", "lower", "upper", "training", "inplace"),
        "torch.nn.functional.rrelu_": ("input", "lower", "upper", "training"),
        "torch.nn.functional.prelu": ("input", "weight"),
        "torch.nn.functional.hardtanh": ("input", "min_val", "max_val", "inplace"),
        "torch.nn.functional.hardtanh_": ("input", "min_val", "max_val"),
        "torch.nn.functional.threshold": ("input", "threshold", "value", "inplace"),
        "torch.nn.functional.threshold_": ("input", "threshold", "value"),
        "torch.nn.functional.hardshrink": ("input", "lambd"),
        "torch.nn.functional.softshrink": ("input", "lambd"),
        "torch.nn.functional.softplus": ("input", "beta", "threshold"),
        "torch.nn.functional.softmax": ("input", "dim", "_stacklevel", "dtype"),
        "torch.nn.functional.softmin": ("input", "dim", "_stacklevel", "dtype"),
        "torch.nn.functional.log_softmax": ("input", "dim", "_stacklevel", "dtype"),
        "torch.nn.functional.gumbel_softmax": ("logits", "tau", "hard", "eps", "dim"),
        "torch.nn.functional.glu": ("input", "dim"),
        **{
            f"torch.{n}": ("input",)
            for n in ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "selu", "selu_")
        },
        "torch.softmax": ("input", "dim", "dtype"),
        "torch.log_softmax": ("input", "dim", "dtype"),
        "torch.celu": ("input", "alpha"),
        "torch.celu_": ("input", "alpha"),
        "torch.rrelu": ("input", "lower", "upper", "training"),
        "torch.rrelu_": ("input", "lower", "upper", "training"),
        "torch.prelu": ("input", "weight"),
        "torch.hardshrink": ("input", "lambd"),
        "torch.threshold": ("input", "threshold", "value"),
        "torch.threshold_": ("input", "threshold", "value"),
    },
    "normalization": {
        "torch.nn.functional.batch_norm": (
            "input",
            "running_mean",
            "running_var",
            "weight",
            "bias",
            "training",
            "momentum",
            "eps",
        ),
        "torch.nn.functional.instance_norm": (
            "input",
            "running_mean",
            "running_var",
            "weight",
            "bias",
            "use_input_stats",
            "momentum",
            "eps",
        ),
        "torch.nn.functional.layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
        "torch.nn.functional.group_norm": ("input", "num_groups", "weight", "bias", "eps"),
        "torch.nn.functional.rms_norm": ("input", "normalized_shape", "weight", "eps"),
        "torch.nn.functional.local_response_norm": ("input", "size", "alpha", "beta", "k"),
        "torch.batch_norm": (
            "input",
            "weight",
            "bias",
            "running_mean",
            "running_var",
            "training",
            "momentum",
            "eps",
            "cudnn_enabled",
        ),
        "torch.instance_norm": (
            "input",
            "weight",
            "bias",
            "running_mean",
            "running_var",
            "use_input_stats",
            "momentum",
            "eps",
            "cudnn_enabled",
        ),
        "torch.layer_norm": ("input", "normalized_shape", "weight", "bias", "eps", "cudnn_enable"),
        "torch.group_norm": ("input", "num_groups", "weight", "bias", "eps", "cudnn_enabled"),
        "torch.rms_norm": ("input", "normalized_shape", "weight", "eps"),
    },
    "pooling": {
        **{f"torch.nn.functional.max_pool{d}d": _F_MAX_POOL for d in (1, 2, 3)},
        **{f"torch.nn.functional.max_pool{d}d_with_indices": _F_MAX_POOL for d in (1, 2, 3)},
        "torch.nn.functional.avg_pool1d": _F_AVG_POOL[:6],
        "torch.nn.functional.avg_pool2d": _F_AVG_POOL,
        "torch.nn.functional.avg_pool3d": _F_AVG_POOL,
        **{
            f"torch.nn.functional.adaptive_avg_pool{d}d": ("input", "output_size")
            for d in (1, 2, 3)
        },
        **{
            f"torch.nn.functional.adaptive_max_pool{d}d{suffix}": (
                "input",
                "output_size",
                "return_indices",
            )
            for d in (1, 2, 3)
            for suffix in ("", "_with_indices")
        },
        **{
            f"torch.nn.functional.lp_pool{d}d": (
                "input",
                "norm_type",
                "kernel_size",
                "stride",
                "ceil_mode",
            )
            for d in (1, 2, 3)
        },
        **{
            f"torch.nn.functional.fractional_max_pool{d}d{suffix}": ("input", *_FRACTIONAL)
            for d in (2, 3)
            for suffix in ("", "_with_indices")
        },
        **{
            f"torch.nn.functional.max_unpool{d}d": (
                "input",
                "indices",
                "kernel_size",
                "stride",
                "padding",
                "output_size",
            )
            for d in (1, 2, 3)
        },
        **{f"torch.max_pool{d}d": _F_MAX_POOL[:6] for d in (1, 2, 3)},
        "torch.avg_pool1d": _F_AVG_POOL[:6],
        "torch.adaptive_avg_pool1d": ("input", "output_size"),
        "torch.adaptive_max_pool1d": ("input", "output_size"),
    },
    "dropout": {
        **{
            f"torch.nn.functional.{n}": _F_DROPOUT
            for n in (
                "dropout",
                "dropout1d",
                "dropout2d",
                "dropout3d",
                "alpha_dropout",
                "feature_alpha_dropout",
            )
        },
        **{
            f"torch.{n}": ("input", "p", "train")
            for n in (
                "dropout",
                "dropout_",
                "alpha_dropout",
                "feature_dropout",
                "feature_alpha_dropout",
            )
        },
    },
    "reshape": {
        "torch.flatten": ("input", "start_dim", "end_dim"),
        "torch.unflatten": ("input", "dim", "sizes"),
        "torch.reshape": ("input", "shape"),
        "torch.pixel_shuffle": ("input", "upscale_factor"),
        "torch.pixel_unshuffle": ("input", "downscale_factor"),
        "torch.channel_shuffle": ("input", "groups"),
        "torch.nn.functional.pixel_shuffle": ("input", "upscale_factor"),
        "torch.nn.functional.pixel_unshuffle": ("input", "downscale_factor"),
        "torch.nn.functional.channel_shuffle": ("input", "groups"),
        "torch.nn.functional.fold": (
            "input",
            "output_size",
            "kernel_size",
            "dilation",
            "padding",
            "stride",
        ),
        "torch.nn.functional.unfold": ("input", "kernel_size", "dilation", "padding", "stride"),
    },
    "loss": {
        **{
            f"torch.nn.functional.{n}": _F_LOSS
            for n in ("mse_loss", "l1_loss", "soft_margin_loss", "multilabel_margin_loss")
        },
        "torch.nn.functional.cross_entropy": (
            *_F_WEIGHTED_LOSS[:4],
            "ignore_index",
            "reduce",
            "reduction",
            "label_smoothing",
        ),
        "torch.nn.functional.nll_loss": (
            *_F_WEIGHTED_LOSS[:4],
            "ignore_index",
            "reduce",
            "reduction",
        ),
        "torch.nn.functional.binary_cross_entropy": _F_WEIGHTED_LOSS,
        "torch.nn.functional.binary_cross_entropy_with_logits": (*_F_WEIGHTED_LOSS, "pos_weight"),
        "torch.nn.functional.multilabel_soft_margin_loss": _F_WEIGHTED_LOSS,
        "torch.nn.functional.kl_div": (*_F_LOSS, "log_target"),
        "torch.nn.functional.smooth_l1_loss": (*_F_LOSS, "beta"),
        "torch.nn.functional.huber_loss": ("input", "target", "reduction", "delta"),
        "torch.nn.functional.poisson_nll_loss": (
            "input",
            "target",
            "log_input",
            "full",
            "size_average",
            "eps",
            "reduce",
            "reduction",
        ),
        "torch.nn.functional.gaussian_nll_loss": (
            "input",
            "target",
            "var",
            "full",
            "eps",
            "reduction",
        ),
        "torch.nn.functional.hinge_embedding_loss": (
            "input",
            "target",
            "margin",
            "size_average",
            "reduce",
            "reduction",
        ),
        "torch.nn.functional.multi_margin_loss": (
            "input",
            "target",
            "p",
            "margin",
            "weight",
            "size_average",
            "reduce",
            "reduction",
        ),
        "torch.nn.functional.cosine_embedding_loss": _F_PAIR_LOSS,
        "torch.nn.functional.margin_ranking_loss": _F_PAIR_LOSS,
        "torch.nn.functional.triplet_margin_loss": (
            "anchor",
            "positive",
            "negative",
            "margin",
            "p",
            "eps",
            "swap",
            "size_average",
            "reduce",
            "reduction",
        ),
        "torch.nn.functional.triplet_margin_with_distance_loss": ("anchor", "positive", "negative"),
        "torch.nn.functional.ctc_loss": (
            "log_probs",
            "targets",
            "input_lengths",
            "target_lengths",
            "blank",
            "reduction",
            "zero_infinity",
        ),
    },
}

# Detail and parameter-count rules exist for these torch.nn classes (see details.py).
FORMULAS = frozenset(
    [name for kind in ("connection", "normalization", "container") for name in NN_MODULES[kind]]
    + list(NN_MODULES["pooling"])
    + ["PReLU"]
)


def _build() -> dict[str, CatalogEntry]:
    table: dict[str, CatalogEntry] = {}
    for line_type, classes in NN_MODULES.items():
        for short, args in classes.items():
            formula = short if short in FORMULAS else None
            table[f"torch.nn.{short}"] = CatalogEntry(
                line_type, f"torch.nn.{short}", short, args, _ALWAYS_HIDDEN, formula, True
            )
    for short, args in OPTIMIZERS.items():
        table[f"torch.optim.{short}"] = CatalogEntry(
            "optimizer", f"torch.optim.{short}", short, args,
            _ALWAYS_HIDDEN | {"params"}, None, False,
        )  # fmt: skip
    for short, args in SCHEDULERS.items():
        name = f"torch.optim.lr_scheduler.{short}"
        table[name] = CatalogEntry(
            "scheduler",
            name,
            short,
            args,
            _ALWAYS_HIDDEN | {"optimizer", "schedulers"},
            None,
            False,
        )
    for line_type, functions in FUNCTIONS.items():
        for name, args in functions.items():
            short = name.rsplit(".", 1)[1]
            # functional pools share the modules' kernel-size detail
            formula = "pooling" if line_type == "pooling" else None
            table[name] = CatalogEntry(
                line_type, name, short, args, _ALWAYS_HIDDEN | _DATA_ARGS, formula, False
            )
    return table


API_CATALOG: dict[str, CatalogEntry] = _build()

_CONV_DEFAULTS = {"stride": "1", "padding": "0", "dilation": "1", "groups": "1", "bias": "True",
                  "padding_mode": "'zeros'"}
_NORM_DEFAULTS = {"eps": "1e-05", "momentum": "0.1", "affine": "True",
                  "track_running_stats": "True"}
_POOL_DEFAULTS = {"padding": "0", "ceil_mode": "False"}
# The defaults of the layers' settings, as source (`ast.unparse`): an argument spelled out at
# its default changes nothing the layer does (tests check them against the installed torch).
DEFAULTS: dict[str, dict[str, str]] = {
    **{f"torch.nn.Conv{d}d": _CONV_DEFAULTS for d in (1, 2, 3)},
    **{f"torch.nn.ConvTranspose{d}d": {**_CONV_DEFAULTS, "output_padding": "0"} for d in (1, 2, 3)},
    "torch.nn.Linear": {"bias": "True"},
    **{f"torch.nn.BatchNorm{d}d": _NORM_DEFAULTS for d in (1, 2, 3)},
    **{f"torch.nn.MaxPool{d}d": {**_POOL_DEFAULTS, "dilation": "1", "return_indices": "False"}
       for d in (1, 2, 3)},
    **{f"torch.nn.AvgPool{d}d": {**_POOL_DEFAULTS, "count_include_pad": "True"}
       for d in (1, 2, 3)},
    **{f"torch.nn.{name}": {"p": "0.5", "inplace": "False"}
       for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d")},
    **{f"torch.nn.{name}": {"inplace": "False"} for name in ("ReLU", "ReLU6", "SiLU")},
}


def lookup(qualified: str) -> CatalogEntry | None:
    """The entry for a qualified name, also under torch's submodule spellings.

    ``torch.nn.modules.conv.Conv2d`` and ``torch.optim.adam.Adam`` are the same objects as
    ``torch.nn.Conv2d`` and ``torch.optim.Adam``.
    """
    entry = API_CATALOG.get(qualified)
    if entry is not None or not qualified.startswith("torch."):
        return entry
    parts = qualified.split(".")
    if parts[1:3] == ["nn", "modules"] and len(parts) in (4, 5):
        return API_CATALOG.get("torch.nn." + parts[-1])
    if parts[1] == "optim" and len(parts) == 4:
        return API_CATALOG.get("torch.optim." + parts[-1])
    return None
