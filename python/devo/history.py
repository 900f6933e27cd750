"""devo.History: what a run recorded per generation, as deepevolution and Keras return it."""
import math


class History(dict):
    """A dict of per-generation lists: deepevolution's 'score' (the elite mean, SEED.md's
    statistic), and devo's 'best', 'std', 'population_mean', 'best_ever', 'center' (an
    evolution strategy's centre fitness; NaN for the GA), 'evaluations' and 'seconds', plus
    'val_loss' and 'val_accuracy' with validation data. As Keras' History, `.history` is the
    dict itself and `.epoch` lists the generations (from 0)."""

    COLUMNS = ("score", "best", "std", "population_mean", "best_ever", "center",
               "evaluations", "seconds")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.epoch = []
        self.params = {}

    @property
    def history(self):
        return self

    def append(self, record):
        """Adds one generation: a dict of column -> value."""
        self.epoch.append(len(self.epoch))
        for key, value in record.items():
            self.setdefault(key, [math.nan] * (len(self.epoch) - 1)).append(value)

    @classmethod
    def from_c(cls, h):
        """A History from a devo_history (the engine's own record)."""
        out = cls()
        for g in range(h.generations):
            out.append(record_of(h, g))
        return out


def record_of(source, g=None):
    """One generation's columns from devo_generation_stats (g None) or a devo_history."""
    def get(name):
        value = getattr(source, name)
        return value if g is None else value[g]
    return {"score": get("mean"), "best": get("best"), "std": get("std"),
            "population_mean": get("population_mean"), "best_ever": get("best_ever"),
            "center": get("center"), "evaluations": int(get("evaluations")),
            "seconds": get("seconds")}
