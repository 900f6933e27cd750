"""The examples' data: MNIST-format images (Debian's Fashion-MNIST unless DEVO_DATA names
another IDX directory) as a deepevolution user has them from keras.datasets: x (n, 28, 28)
floats in [0, 1], y (n,) class indices."""
import os

import devo


def load_data():
    directory = os.environ.get("DEVO_DATA", devo.datasets.FASHION_MNIST)
    (x_train, y_train), (x_test, y_test) = (devo.load_idx(directory, split)
                                            for split in ("train", "t10k"))
    side = int(round(x_train.shape[1] ** 0.5))
    return ((x_train.reshape(-1, side, side), y_train),
            (x_test.reshape(-1, side, side), y_test))
