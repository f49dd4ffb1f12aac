# %% [markdown]
# # Torchloom from a notebook
#
# Build a small classifier in code, train it on the bundled handwritten digits, look at
# its curves and inside one layer: the same engine the window and `torchloom` use, without
# either. Run it cell by cell (VS Code, Jupytext) or as a script:
# `python docs/examples/quickstart.py`. It writes `runs/quickstart/` and
# `quickstart_curves.png` in the working folder. The API is described in docs/api.md.

# %%
import os
import sys

from torchloom.engine import api
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project

# %% [markdown]
# ## A graph in code: Input → Flatten → Linear → ReLU → Linear
#
# The digits are 8×8 greyscale images in 10 classes. Sizes that follow from the incoming
# tensor (the Linear's `in_features`) are inferred; only the outputs are chosen.

# %%
graph = Graph()
graph.add_node("Input", {"shape": [1, 8, 8]}, "x")
graph.add_node("Flatten", {}, "flat")
graph.add_node("Linear", {"out_features": 32}, "fc1")
graph.add_node("ReLU", {}, "relu")
graph.add_node("Linear", {"out_features": 10}, "fc2")
for src, dst in (("x", "flat"), ("flat", "fc1"), ("fc1", "relu"), ("relu", "fc2")):
    graph.connect(src, dst)

project = Project(graph, name="Quickstart MLP", dataset={"name": "digits"},
                  training={"epochs": 2, "batch_size": 128, "lr": 0.003, "seed": 0})
print(api.summary(project))

# %% [markdown]
# ## Train
#
# Keyword arguments override the project's training settings (`epochs=`, `lr=`,
# `device=`...); a misspelt one is refused with a did-you-mean.

# %%
run = api.train(project, run_dir="runs/quickstart")
print(run)

# %% [markdown]
# ## The metrics, one row per epoch
#
# The same keys as `torchloom train --metrics-json`. With pandas installed,
# `run.dataframe()` gives them as a DataFrame.

# %%
columns = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")
print("  ".join(f"{c:>10}" for c in columns))
for row in run.metrics:
    print("  ".join(f"{row[c]:>10.4f}" if isinstance(row[c], float) else f"{row[c]:>10}"
                    for c in columns))

# %% [markdown]
# ## The curves, drawn with pyqtgraph into a PNG
#
# pyqtgraph draws without a screen when Qt runs offscreen. Where Qt cannot start at all,
# the numbers above are the result.

# %%
PNG = "quickstart_curves.png"
if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                             or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
try:
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter

    app = pg.mkQApp()
    window = pg.GraphicsLayoutWidget()
    window.setBackground("w")
    window.resize(900, 360)
    epochs = [row["epoch"] for row in run.metrics]
    for column, (title, keys) in enumerate((("Loss", ("train_loss", "val_loss")),
                                            ("Accuracy", ("train_acc", "val_acc")))):
        plot = window.addPlot(row=0, col=column, title=title)
        # the legend where the curves are not: losses fall, accuracies rise
        plot.addLegend(offset=(-10, 10) if column == 0 else (-10, -10))
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.setLabel("bottom", "epoch")
        plot.getAxis("bottom").setTicks([[(e, str(e)) for e in epochs]])
        if title == "Accuracy":
            plot.setYRange(0, 1)
        for key, color in zip(keys, ("#1f77b4", "#d62728")):
            plot.plot(epochs, [row[key] for row in run.metrics], name=key, symbol="o",
                      pen=pg.mkPen(color, width=2), symbolBrush=color, symbolPen=color)
    window.show()  # lays the plots out at the window's size (offscreen: nothing appears)
    app.processEvents()
    exporter = ImageExporter(window.scene())
    exporter.parameters()["width"] = 900
    exporter.export(PNG)
    window.close()
    print(f"wrote {PNG}")
except Exception as exc:  # noqa: BLE001 - no Qt here: the numbers are the result
    print(f"no plot ({type(exc).__name__}: {exc}); the metrics are printed above")

# %% [markdown]
# ## Inside the model
#
# What the first layer produced on the run's probe batch (a few validation samples of
# every class): a tensor `[K, 32]`.

# %%
capture = api.probe(run, "fc1")
print(capture, "mean activation", round(float(capture.data.mean()), 4))
