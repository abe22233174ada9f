"""MNIST tooling for MNIST Sudoku: offline digit images (``digits``), the judge that reads
generated cells (``judge``), the per-cell autoencoder of the latent variant (``autoencoder``),
and the small training loop both use (``fit``). Shipped weights live in ``ponder/assets/mnist``
and are rebuilt by ``ponder judge train mnist`` / ``ponder autoencoder train mnist``.
"""
