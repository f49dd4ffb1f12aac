"""Write the block reference (docs/blocks.md) from the catalogue, so the docs cannot drift.

    python -m torchloom.engine.blockdoc > docs/blocks.md
"""

from __future__ import annotations

from .blocks import by_category


def _value(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(list(value) if isinstance(value, tuple) else value)


def render() -> str:
    lines = ["# Block reference", "",
             "Generated from the block catalogue by `python -m torchloom.engine.blockdoc`; do "
             "not edit by hand.", "",
             "Shapes are written with the batch as `N`. Sizes that follow from the input "
             "(`in_channels`, `in_features`, `input_size`, `embed_dim`, `num_features`, "
             "`normalized_shape`) are measured, never set.", "",
             "Every block has one output, `out`, unless its entry lists its outputs: a wire "
             "from a block with several names the one it carries (`from_port` in the project "
             "file, see project-format.md).", ""]
    for category, blocks in by_category().items():
        lines += [f"## {category}", ""]
        for block in blocks:
            lines += [f"### {block.type_name}", "", block.doc, ""]
            if block.inputs:
                ports = []
                for port in block.inputs:
                    notes = [n for n in (port.layout, "token ids" if port.dtype == "int" else "",
                                         "any number, in edge order" if port.variadic else "",
                                         "optional" if port.optional else "") if n]
                    ports.append(f"`{port.name}`" + (f" ({'; '.join(notes)})" if notes else ""))
                lines += ["Inputs: " + ", ".join(ports) + ".", ""]
            if block.outputs_doc:  # several outputs; one `out` is not worth a line
                lines += [f"Outputs: {block.outputs_doc}.", ""]
            if block.params:
                lines += ["| parameter | default | accepts | meaning |",
                          "| --- | --- | --- | --- |"]
                for name, decl in block.params.items():
                    expects = decl.expects() + (", or empty" if decl.optional else "")
                    lines.append(f"| `{name}` | {_value(decl.default)} | {expects} | {decl.doc} |")
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
