"""Image experiments of the paper (Section 4.1-4.2, Table 1, Figures 2-5).

- :mod:`lsbo.images.data`: MNIST / Fashion-MNIST (IDX files), SVHN / CelebA (torchvision), resized as
  in docs/protocols.md §5;
- :mod:`lsbo.images.models`: the convolutional encoder/decoder of docs/protocols.md §5 with any regularizer;
- :mod:`lsbo.images.metrics`: Fréchet distance (FID) on a named feature extractor, clustering accuracy;
- :mod:`lsbo.images.features`: the feature extractors (Inception-v3 when its weights are on disk, else
  a small classifier trained once per dataset);
- :mod:`lsbo.images.figures`: sample / reconstruction / interpolation grids and sweep plots.

Submodules import torch; import them directly (``from lsbo.images.data import load_image_split``).
"""
