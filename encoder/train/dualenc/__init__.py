"""Dual encoder for lander: a product tower (small CNN on the Go-preprocessed
image, fused with the MiniLM embedding of the title) and an attribute tower
(MiniLM embedding of "key: value" plus a trained projection), trained with a
multi-positive bidirectional InfoNCE loss and exported to ONNX.

Modules: data (training set and vocabulary), model, loss, metrics (Recall@10,
calibration, assignment), train (the loop; `python -m dualenc.train`) and
export (ONNX, model.json, golden files).
"""
