"""The recommended way to train with devo, from Keras: OpenAI-ES with rank-1 perturbations,
population 2,048, each generation judged on a fresh 1,024 images (the README's command,
`./run.sh --layers 64:relu,10:softmax --strategy openai-es --rank 1 --population 2048 ...`),
on a 784-64-10 Keras model, with a validation split, early stopping and a checkpoint.

Usage: python examples/python/fashion_es.py [GENERATIONS=2000]
"""
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras

import devo.keras
from mnist_data import load_data

generations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
(x_train, y_train), (x_test, y_test) = load_data()

model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])

checkpoint = os.path.join(tempfile.gettempdir(), "fashion_es.ckpt")
history = devo.keras.fit_evolve(
    model, x_train, y_train, max_generations=generations, population=2048, verbose=2,
    strategy="openai-es", rank=1, learning_rate=0.01, sigma=0.02, sigma_final=0.005,
    weight_decay=0.001, fitness_samples=1024, seed=1,
    validation_data=(x_test[:2000], y_test[:2000]), checkpoint=checkpoint,
    checkpoint_every=100,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                             patience=300, restore_best_weights=True)])

loss, accuracy = model.evaluate(x_test, y_test, verbose=0)[:2]
print("test loss %.4f, test accuracy %.4f after %d generations (checkpoint: %s)"
      % (loss, accuracy, len(history["score"]), checkpoint))
