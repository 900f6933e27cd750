"""deepevolution's first example on devo: the seed's network (Flatten 28x28 -> Dense 30 relu
-> Dense 10 softmax) evolved for 10 generations, population 10, top 3, with the default
fitness (minus the compiled loss). The script is deepevolution's, with one line changed: the
import of wrap_keras."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

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

history = model.fit_evolve(x_train, y_train, max_generations=10, population=10, top_k=3)

print("test loss and accuracy:", model.evaluate(x_test, y_test, verbose=0))
