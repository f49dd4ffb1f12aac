"""The compiler: a GraphModule that matches a hand-written module bit for bit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import fx, nn

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.errors import CompileError
from torchloom.engine.graph import Graph
from torchloom.engine.project import load_project
from torchloom.engine.text.vocab import learn_vocab

from .builders import chain

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


class HandWrittenMnistCNN(nn.Module):
    """The classic Keras MNIST CNN, written the way a person would."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 128)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(self.drop(F.relu(self.fc1(x))))


def test_mnist_cnn_from_file_is_bit_identical_to_hand_written():
    project = load_project(EXAMPLES / "mnist_cnn.json")
    gm = compile_graph(project.graph, seed=0)
    ref = HandWrittenMnistCNN()
    ref.load_state_dict(gm.state_dict())

    torch.manual_seed(1)
    x = torch.randn(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    gm.eval(), ref.eval()
    assert torch.equal(gm(x), ref(x))

    gm.train(), ref.train()
    opt_a = torch.optim.Adam(gm.parameters(), lr=1e-3)
    opt_b = torch.optim.Adam(ref.parameters(), lr=1e-3)
    for step in range(3):
        losses = []
        for model, opt in ((gm, opt_a), (ref, opt_b)):
            torch.manual_seed(100 + step)  # same dropout masks for both
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss)
        assert torch.equal(losses[0], losses[1]), step
    for key, value in ref.state_dict().items():
        assert torch.equal(gm.state_dict()[key], value), key


def test_generated_code_is_readable_and_linted():
    project = load_project(EXAMPLES / "mnist_cnn.json")
    gm = compile_graph(project.graph, seed=0)
    assert isinstance(gm, fx.GraphModule)
    assert "def forward(self, x):" in gm.code
    assert "conv1 = self.conv1(x)" in gm.code and "return fc2" in gm.code
    gm.graph.lint()


def test_state_dict_keys_survive_an_edit():
    project = load_project(EXAMPLES / "mnist_cnn.json")
    g = project.graph
    before = compile_graph(g, seed=0).state_dict()
    edge = next(e for e in g.edges if e.dst == "fc2")
    g.disconnect(edge)
    g.add_node("Dropout", {"p": 0.1}, "extra_drop")
    g.connect(edge.src, "extra_drop")
    g.connect("extra_drop", "fc2")
    g.set_param("fc1", "out_features", 128)
    after = compile_graph(g, seed=1)
    assert list(after.state_dict()) == list(before)
    after.load_state_dict(before)


def test_same_seed_same_weights_and_global_rng_untouched():
    g = chain(("fc", "Linear", {"out_features": 4}), shape=[3])
    torch.manual_seed(7)
    state = torch.random.get_rng_state()
    a = compile_graph(g, seed=3)
    b = compile_graph(g, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.fc.weight, b.fc.weight)


def test_multiple_inputs_become_arguments_in_file_order():
    g = Graph()
    g.add_node("Input", {"shape": [6, 16]}, "query")
    g.add_node("Input", {"shape": [4, 16]}, "memory")
    g.add_node("MultiheadAttention", {"num_heads": 2}, "attn")
    g.connect("query", "attn")
    g.connect("memory", "attn", "key")
    gm = compile_graph(g, seed=0)
    assert "def forward(self, query, memory):" in gm.code
    assert gm(torch.randn(2, 6, 16), torch.randn(2, 4, 16)).shape == (2, 6, 16)


def test_unused_input_and_loose_blocks_are_left_out():
    g = chain(("fc", "Linear", {"out_features": 2}), shape=[3])
    g.add_node("Input", {"shape": [5]}, "spare")
    g.add_node("ReLU", node_id="loose")
    gm = compile_graph(g)
    assert "spare" not in gm.code and not hasattr(gm, "loose")


def test_graph_with_errors_refuses_to_compile_listing_them():
    g = chain(("flat", "Flatten"), ("conv", "Conv2d"))
    with pytest.raises(CompileError, match="node conv \\(Conv2d\\)") as info:
        compile_graph(g)
    assert len(info.value.errors) == 1


def test_awkward_ids_become_legal_distinct_names():
    names = module_names(["eval", "forward", "conv 1", "conv_1", "1st", "卷积"])
    assert len(set(names.values())) == 6
    assert all(n.isidentifier() for n in names.values())
    assert names["eval"] != "eval" and names["forward"] != "forward"
    assert names["卷积"] == "卷积"
    g = chain(("eval", "Linear", {"out_features": 2}), ("1st", "ReLU"), shape=[3])
    gm = compile_graph(g)
    gm.eval()  # still the method, not the submodule
    assert gm(torch.randn(2, 3)).shape == (2, 2)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_compiles_and_runs_forward_and_backward(example):
    project = load_project(EXAMPLES / example)
    learn_vocab(project)  # a text model's "vocab" sizes come from its data
    for graph in project.graphs().values():  # a GAN has two, a classifier one
        gm = compile_graph(graph, seed=0)
        spec = graph.node(graph.input_ids()[0]).params
        if spec["dtype"] == "int64":
            x = torch.randint(0, 8, (4, *spec["shape"]))
        else:
            x = torch.randn(4, *spec["shape"])
        out = gm(x)
        outs = out if isinstance(out, tuple) else (out,)  # several heads: one output each
        sum(o.sum() for o in outs).backward()
        assert all(o.shape[0] == 4 for o in outs)


def test_a_block_that_views_its_input_runs_after_a_transpose():
    """Found by bench/fuzz_soak.py: LocalResponseNorm after a Transpose raised torch's "view
    size is not compatible" when the model ran. The compiled graph (and so the python
    export, written from it) makes the input contiguous first."""
    g = Graph()
    g.add_node("Input", {"shape": [8, 4, 6]}, "x")
    g.add_node("Transpose", {"dim0": 1, "dim1": 2}, "t")
    g.add_node("LocalResponseNorm", {"size": 3}, "lrn")
    g.connect("x", "t")
    g.connect("t", "lrn")
    model = compile_graph(g)
    x = torch.randn(2, 8, 4, 6)
    expected = nn.LocalResponseNorm(3)(x.transpose(2, 3).contiguous())
    assert torch.allclose(model(x), expected)
    assert "contiguous()" in model.code
