"""The GAN recipe: a generator and a discriminator graph trained against each other.

`checks` validates the two graphs together, `data` scales samples to the generator's
[-1, 1] and back, `trainer` trains them (same callbacks, checkpoints and stop as the
classifier's Trainer), `samples` draws sample grids, `run` builds a job from a project.
"""
