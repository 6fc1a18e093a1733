"""Datasets, the `DataLoader`, batch transforms (`minigrad.data.transforms`) and the small
built-in image datasets (`load_digits`, `load_mnist_5k`)."""

from minigrad.data import transforms
from minigrad.data.dataloader import DataLoader
from minigrad.data.dataset import Dataset, TensorDataset
from minigrad.data.datasets import load_digits, load_mnist_5k, train_test_split

__all__ = ["DataLoader", "Dataset", "TensorDataset", "load_digits", "load_mnist_5k",
           "train_test_split", "transforms"]
