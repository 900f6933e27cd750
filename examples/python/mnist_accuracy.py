"""deepevolution's second example on devo: the seed's network evolved for 10 generations,
population 10, top 3, with the accuracy as the fitness, written as deepevolution's
fitness_func(model, X, Y) (called once per individual with its weights in the Keras model:
slow, as in deepevolution; fitness="accuracy" is devo's built-in, far faster). The script is
deepevolution's, with one line changed: the import of wrap_keras."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from keras.layers import Dense, Flatten
from keras.models import Sequential

from devo.keras import wrap_keras  # was: from deepevolution import wrap_keras
from mnist_data import load_data

wrap_keras()

(x_train, y_train), (x_test, y_test) = load_data()

model = Sequential()
model.add(Flatten(input_shape=(28, 28)))
model.add(Dense(30, activation="relu"))
model.add(Dense(10, activation="softmax"))
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])


def fitness_func(model, X, Y):
    return np.mean(np.argmax(model.predict(X, batch_size=4096, verbose=0), axis=-1) == Y)


history = model.fit_evolve(x_train, y_train, max_generations=10, population=10, top_k=3,
                           fitness_func=fitness_func)

print("test loss and accuracy:", model.evaluate(x_test, y_test, verbose=0))
