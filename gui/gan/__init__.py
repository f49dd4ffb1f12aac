"""The GUI side of the GAN recipe: two canvases, the GAN plots and the sample grid."""
