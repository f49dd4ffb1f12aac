"""Units on the canvas (group, open, repeat, block library) and the Code block's trust state."""
