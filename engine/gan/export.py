"""Exporting a GAN: the python format writes both networks; the others refuse, saying so.

The ``.py`` file holds ``class Generator`` and ``class Discriminator`` (each written exactly
as the classifier export writes its ``Model``: full constructor calls, the compiled
forward), plus ``class GAN`` holding both as ``.generator`` and ``.discriminator``, so
``build().load_state_dict(load_file("<run>/model.safetensors"))`` loads a GAN run folder
as it is. The export is verified like the classifier's: the file is executed, given the
weights, and both networks must give identical outputs.

onnx, pt2, safetensors and torchrun take one model; for a GAN they raise an `ExportError`
that names the python format.
"""

from __future__ import annotations

import inspect
import runpy
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import CompileError, ExportError
from ..project import GAN_GRAPHS, Project
from .checks import analyze_gan

if TYPE_CHECKING:
    from ..export import ExportResult
    from ..export.model import ExportModel

FMT = "python"
CLASS_NAMES = {"generator": "Generator", "discriminator": "Discriminator"}


def graph_project(project: Project, key: str) -> Project:
    """One of a GAN's graphs as a one-graph project (what the classifier export takes)."""
    view = Project(graph=project.graphs()[key], name=f"{project.name} ({key})",
                   dataset=project.dataset, training=dict(project.training), path=project.path)
    view.graph.base_dir = project.graphs()[key].base_dir
    return view


def gan_models(project: Project, weights: Path | None, fmt: str = FMT
               ) -> tuple[dict[str, "ExportModel"], str]:
    """Both networks compiled, in eval mode, with the run's weights (or fresh ones)."""
    from ..export.model import prepare_model
    from ..train import checkpoint as ckpt
    from ..train.best import load_run_weights

    checked = analyze_gan(project)
    if not checked.ok:
        raise ExportError(str(CompileError(checked.errors)), fmt=fmt)
    models = {key: prepare_model(graph_project(project, key), None, fmt=fmt)
              for key in GAN_GRAPHS}
    source = models["generator"].weights_from
    if weights is not None:
        file = weights / ckpt.MODEL_FILE if weights.is_dir() else weights
        used = ""
        try:
            if weights.is_dir():  # the best epoch's weights, if the run kept them
                chosen = load_run_weights(weights)
                saved, file = chosen.tensors, chosen.file
                used = f", using {chosen.describe()}" if chosen.best is not None else ""
            else:
                saved = ckpt.load_weights(file)
        except ckpt.CheckpointError as exc:
            raise ExportError(exc.describe().removeprefix(f"{file}: "), fmt=fmt,
                              path=str(file)) from None
        if weights.is_dir():  # a run: its tensors under the ids the graphs have now
            from ..rename import rename_weights

            saved = rename_weights(saved, ckpt.project_copy_or_none(weights),
                                  project)
        for key, model in models.items():
            prefix = key + "."
            mine = {k[len(prefix):]: v for k, v in saved.items() if k.startswith(prefix)}
            expected = model.module.state_dict()
            bad = [k for k, v in expected.items() if k not in mine or mine[k].shape != v.shape]
            if bad:
                raise ExportError(f"these weights do not fit the {key} (first at "
                                  f"{bad[0]}): were they trained on an earlier version of it?",
                                  fmt=fmt, path=str(file))
            model.module.load_state_dict({k: mine[k] for k in expected})
            model.module.eval()
        source = f"run {weights}{used}" if weights.is_dir() else f"weights {weights}"
    return models, source


def gan_python_source(project: Project, models: dict[str, "ExportModel"]) -> str:
    from ..export import python_code as pc

    parts = {key: pc._Parts(model) for key, model in models.items()}
    layers: list[type] = []
    for p in parts.values():
        layers += [c for c in p.layer_classes if c not in layers]
    chunks: list[str] = []
    for i, cls in enumerate(layers):
        ruler = pc._ruler("Torchloom layers used by this model (plain PyTorch)") if i == 0 else ""
        chunks.append(ruler + inspect.getsource(cls))
    seen: set[str] = set()
    for p in parts.values():
        for path, source in p.code_sections:
            if str(path) in seen:
                continue
            seen.add(str(path))
            aliases = "".join(f"{a} = {n}\n" for a, n in p.aliases.get(path, []))
            chunks.append(pc._ruler(f"your code: {path.name} (Code block)") + "\n"
                          + source.strip() + "\n" + ("\n\n" + aliases if aliases else "")
                          + "\n\n" + pc._ruler(f"end of {path.name}"))
        units = getattr(p, "units", None)
        for chunk in (units.classes() if units is not None else []):
            if chunk not in chunks:
                chunks.append(chunk)
    for key, model in models.items():
        text = pc._model_class(model, parts[key])
        chunks.append(text.replace("class Model(nn.Module):", f"class {CLASS_NAMES[key]}"
                                   "(nn.Module):", 1))
    chunks += [_pair_class(project), _main(models)]
    head = (_header(project, models)
            + "\nfrom __future__ import annotations\n\nimport torch\nfrom torch import nn\n")
    return head + "".join("\n\n" + chunk.strip("\n") + "\n" for chunk in chunks)


def _header(project: Project, models: dict[str, "ExportModel"]) -> str:
    from ..export.python_code import _doc

    g, d = models["generator"], models["discriminator"]
    z = g.analysis.nodes[g.input_ids()[0]].spec
    x = d.analysis.nodes[d.input_ids()[0]].spec
    count = {k: sum(p.numel() for p in m.module.parameters()) for k, m in models.items()}
    source = f" ({_doc(project.path.name)})" if project.path is not None else ""
    lines = [f'"""{_doc(project.name)}: a GAN exported by Torchloom.', "",
             f"Project: {_doc(project.name)}{source}",
             f"Generator: latent {z.show() if z else '?'} -> sample "
             f"{g.analysis.output_spec.show() if g.analysis.output_spec else '?'} "
             f"({count['generator']:,} parameters)",
             f"Discriminator: sample {x.show() if x else '?'} -> one logit per sample "
             f"({count['discriminator']:,} parameters)", "",
             "Torchloom trains on samples scaled to [-1, 1] (the generator ends in Tanh); map",
             "generated samples back to the data's units with (x + 1) / 2 * (high - low) + low,",
             'the range in the run folder\'s run.json under "data_range" ([0, 1] for mnist5k).',
             "", "This file needs only PyTorch. Load a Torchloom GAN run's weights with:", "",
             "    import safetensors.torch",
             "    gan = build()",
             '    gan.load_state_dict(safetensors.torch.load_file("model.safetensors"))',
             "    samples = gan.generator.eval()(torch.randn(16, *LATENT_SHAPE))"]
    return "\n".join([*lines, '"""', ""])


def _pair_class(project: Project) -> str:
    return ("class GAN(nn.Module):\n"
            '    """Both networks; state_dict keys match a Torchloom GAN run\'s '
            'model.safetensors."""\n\n'
            "    def __init__(self) -> None:\n"
            "        super().__init__()\n"
            "        self.generator = Generator()\n"
            "        self.discriminator = Discriminator()\n\n"
            "    def forward(self, z: torch.Tensor) -> torch.Tensor:\n"
            '        """The discriminator\'s logit for samples generated from `z`."""\n'
            "        return self.discriminator(self.generator(z))\n")


def _main(models: dict[str, "ExportModel"]) -> str:
    g = models["generator"]
    z = g.analysis.nodes[g.input_ids()[0]].spec
    shape = tuple(z.shape) if z is not None else ()
    return (f"LATENT_SHAPE = {shape!r}\n\n\n"
            "def build() -> GAN:\n"
            '    """Both networks with fresh weights; load trained ones with '
            'load_state_dict."""\n'
            "    return GAN()\n\n\n"
            'if __name__ == "__main__":\n'
            "    # A quick check: python this_file.py [model.safetensors]\n"
            "    import sys\n\n"
            "    gan = build().eval()\n"
            "    if len(sys.argv) > 1:\n"
            "        from safetensors.torch import load_file\n\n"
            "        gan.load_state_dict(load_file(sys.argv[1]))\n"
            "    with torch.no_grad():\n"
            "        samples = gan.generator(torch.randn(4, *LATENT_SHAPE))\n"
            "        logits = gan.discriminator(samples)\n"
            '    print("samples:", tuple(samples.shape), "logits:", tuple(logits.shape))\n')


def export_gan(project: Project, fmt: str, out: Path, weights: Path | None = None
               ) -> "ExportResult":
    """Export a GAN project: python writes both networks; other formats refuse."""
    if fmt != FMT:
        raise ExportError("takes one model, and a GAN project has two: export it as python "
                          "(-f python writes the generator and the discriminator)", fmt=fmt)
    from ..export import ExportResult
    from ..export.python_imports import local_modules_importable, outside_imports
    from ..export.verify import prepare_target, staged

    models, source = gan_models(project, weights)
    out = Path(out)
    path = prepare_target(out / "model.py" if out.is_dir() else out, FMT)
    text = gan_python_source(project, models)
    with staged(path, FMT) as tmp, local_modules_importable(project):
        tmp.write_text(text, encoding="utf-8")
        checks = verify_gan_file(tmp, models, shown=path)
    del source  # the command line prints it from gan_models
    notes = ["load a GAN run's weights with build().load_state_dict(safetensors.torch."
             "load_file(\"<run>/model.safetensors\")); the generator outputs [-1, 1]"]
    needs = outside_imports(text, project)
    checks["standalone"] = not needs
    return ExportResult(FMT, [path], checks, notes + needs)


def verify_gan_file(path: Path, models: dict[str, "ExportModel"], shown: Path | None = None
                    ) -> dict[str, Any]:
    """Run the written file, load both networks' weights strictly, and require identical
    outputs from each on a random batch."""
    where = str(shown or path)
    try:
        namespace = runpy.run_path(str(path), run_name=f"torchloom_export_{uuid.uuid4().hex}")
        rebuilt = namespace["build"]()
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the export is unusable
        raise ExportError(f"the written file does not run: {type(exc).__name__}: {exc}",
                          fmt=FMT, path=where) from None
    state = {f"{key}.{k}": v for key, m in models.items()
             for k, v in m.module.state_dict().items()}
    try:
        rebuilt.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"the compiled weights do not load into the written GAN: {exc}",
                          fmt=FMT, path=where) from None
    rebuilt.eval()
    checks: dict[str, Any] = {"outputs_identical": True}
    for key, model in models.items():
        inputs = model.example_inputs(batch=3, seed=0)
        with torch.no_grad():
            want = model.module(*inputs)
            got = getattr(rebuilt, key)(*inputs)
        if not torch.equal(got, want):
            raise ExportError(f"the written {key}'s outputs differ from the compiled one's",
                              fmt=FMT, path=where)
    checks["parameters"] = sum(p.numel() for p in rebuilt.parameters())
    checks["max_abs_diff"] = 0.0
    return checks
