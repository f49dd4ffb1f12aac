"""The GAN's helpers: a generator and a discriminator graph trained against each other.

`checks` validates the two graphs together, `data` scales samples to the generator's
[-1, 1] and back, `pair` holds both networks as one module, `samples` draws sample grids,
`report` is `torchloom summary`'s, `export` writes both networks as PyTorch code. The task
itself (its training step and reports over the run loop) is `engine.tasks.gan`.
"""
