"""The node-editor canvas: a QGraphicsScene that mirrors an engine graph, and its view."""
