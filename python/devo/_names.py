"""The names devo's options and layers go by (the CLI's, in snake_case) and their C values."""

ACTIVATIONS = {"linear": 0, "relu": 1, "tanh": 2, "sigmoid": 3, "softmax": 4}

LOSSES = {"none": 0, "mse": 1, "binary_crossentropy": 2, "categorical_crossentropy": 3,
          "sparse_categorical_crossentropy": 4}

# Other spellings users write (Keras' long names, the CLI's hyphens).
LOSS_ALIASES = {"mean_squared_error": "mse", "meansquarederror": "mse",
                "binarycrossentropy": "binary_crossentropy",
                "categoricalcrossentropy": "categorical_crossentropy",
                "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy"}

STRATEGIES = {"ga": 0, "openai-es": 1, "openai_es": 1, "pgpe": 2, "snes": 3}
BACKENDS = {"auto": 0, "cpu": 1, "cuda": 2}
PRECISIONS = {"fp32": 0, "tf32": 1, "bf16": 2}
FITNESSES = {"neg-loss": 0, "neg_loss": 0, "loss": 0, "accuracy": 1}


def loss_name(loss):
    """devo's name of a loss written any of the accepted ways, or None when unknown."""
    if loss is None:
        return "none"
    key = str(loss).strip().lower().replace("-", "_")
    key = LOSS_ALIASES.get(key.replace("_", ""), key)
    return key if key in LOSSES else None


def choice(table, value, what):
    """table[value] for a name given in any case; ValueError listing the names otherwise."""
    key = str(value).strip().lower()
    if key not in table:
        raise ValueError("unknown %s %r: expected one of %s"
                         % (what, value, ", ".join(sorted(set(table)))))
    return table[key]
