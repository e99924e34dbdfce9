#!/usr/bin/python3
"""Regenerates the PyTorch reference for the Go BERT forward pass.

Run from this directory with Debian's python3-torch:  /usr/bin/python3 make_reference.py
It writes tiny random BERT checkpoints (safetensors written by hand, and a
torch.save pickle with the original gamma/beta names and a pre-training head)
and the logits an independent plain-PyTorch BERT computes on fixed inputs.
The Go test (../bert_test.go) loads the same files and must match to 1e-5.
"""
import json, math, os, struct
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
CFG = dict(model_type="bert", vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
           intermediate_size=48, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
           max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12, initializer_range=0.02, pad_token_id=0)


def rand(*shape, std=0.5):
    return (torch.randn(*shape) * std).float()


def make_weights(head, num_labels):
    d, f, L = CFG["hidden_size"], CFG["intermediate_size"], CFG["num_hidden_layers"]
    w = {
        "bert.embeddings.word_embeddings.weight": rand(CFG["vocab_size"], d),
        "bert.embeddings.position_embeddings.weight": rand(CFG["max_position_embeddings"], d),
        "bert.embeddings.token_type_embeddings.weight": rand(CFG["type_vocab_size"], d),
        "bert.embeddings.LayerNorm.weight": 1 + rand(d, std=0.1),
        "bert.embeddings.LayerNorm.bias": rand(d, std=0.1),
    }
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        for n in ["attention.self.query", "attention.self.key", "attention.self.value"]:
            w[p + n + ".weight"] = rand(d, d, std=0.2)
            w[p + n + ".bias"] = rand(d, std=0.1)
        w[p + "attention.output.dense.weight"] = rand(d, d, std=0.2)
        w[p + "attention.output.dense.bias"] = rand(d, std=0.1)
        w[p + "attention.output.LayerNorm.weight"] = 1 + rand(d, std=0.1)
        w[p + "attention.output.LayerNorm.bias"] = rand(d, std=0.1)
        w[p + "intermediate.dense.weight"] = rand(f, d, std=0.2)
        w[p + "intermediate.dense.bias"] = rand(f, std=0.1)
        w[p + "output.dense.weight"] = rand(d, f, std=0.2)
        w[p + "output.dense.bias"] = rand(d, std=0.1)
        w[p + "output.LayerNorm.weight"] = 1 + rand(d, std=0.1)
        w[p + "output.LayerNorm.bias"] = rand(d, std=0.1)
    if head == "span":
        w["qa_outputs.weight"] = rand(2, d)
        w["qa_outputs.bias"] = rand(2, std=0.1)
    else:
        w["bert.pooler.dense.weight"] = rand(d, d, std=0.2)
        w["bert.pooler.dense.bias"] = rand(d, std=0.1)
        w["classifier.weight"] = rand(num_labels, d)
        w["classifier.bias"] = rand(num_labels, std=0.1)
    return w


def forward(w, ids, types, mask, head):
    """Plain-PyTorch BERT (no dropout), written independently of the Go code."""
    d, H, L = CFG["hidden_size"], CFG["num_attention_heads"], CFG["num_hidden_layers"]
    eps, hd = CFG["layer_norm_eps"], d // H
    B, S = ids.shape
    pos = torch.arange(S).unsqueeze(0).expand(B, S)
    x = w["bert.embeddings.word_embeddings.weight"][ids] + w["bert.embeddings.position_embeddings.weight"][pos] \
        + w["bert.embeddings.token_type_embeddings.weight"][types]
    x = F.layer_norm(x, (d,), w["bert.embeddings.LayerNorm.weight"], w["bert.embeddings.LayerNorm.bias"], eps)
    add = (1.0 - mask.float())[:, None, None, :] * -10000.0
    hidden = [x]
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        lin = lambda t, n: F.linear(t, w[p + n + ".weight"], w[p + n + ".bias"])
        heads = lambda t: t.view(B, S, H, hd).permute(0, 2, 1, 3)
        q, k, v = heads(lin(x, "attention.self.query")), heads(lin(x, "attention.self.key")), heads(lin(x, "attention.self.value"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + add, dim=-1) @ v
        a = a.permute(0, 2, 1, 3).reshape(B, S, d)
        x = F.layer_norm(lin(a, "attention.output.dense") + x, (d,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        h = F.gelu(lin(x, "intermediate.dense"))
        x = F.layer_norm(lin(h, "output.dense") + x, (d,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        hidden.append(x)
    if head == "span":
        return F.linear(x, w["qa_outputs.weight"], w["qa_outputs.bias"]), hidden
    pooled = torch.tanh(F.linear(x[:, 0], w["bert.pooler.dense.weight"], w["bert.pooler.dense.bias"]))
    return F.linear(pooled, w["classifier.weight"], w["classifier.bias"]), hidden


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)))
        fh.write(h)
        for b in blobs:
            fh.write(b)


def write_config(d, extra):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as fh:
        json.dump({**CFG, **extra}, fh, indent=2)


ids = torch.tensor([[2, 17, 33, 98, 5, 3, 0, 0], [2, 60, 61, 62, 63, 64, 65, 3]])
types = torch.tensor([[0, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 1, 1]])
mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]])

ref = {"input_ids": ids.tolist(), "token_type_ids": types.tolist(), "attention_mask": mask.tolist()}
with torch.no_grad():
    # Classification checkpoint, safetensors, HF names.
    wc = make_weights("classification", 3)
    write_config("ref-cls", {"architectures": ["BertForSequenceClassification"],
                             "id2label": {"0": "entailment", "1": "neutral", "2": "contradiction"}})
    write_safetensors("ref-cls/model.safetensors", wc)
    logits, hidden = forward(wc, ids, types, mask, "classification")
    ref["cls_logits"] = logits.tolist()
    ref["cls_last_hidden"] = hidden[-1].reshape(-1).tolist()

    # The same classification weights as a torch.save pickle with the original
    # TensorFlow-era names (LayerNorm.gamma/beta), a pre-training head and position_ids.
    legacy = {}
    for k, v in wc.items():
        legacy[k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")] = v
    legacy["cls.predictions.bias"] = torch.zeros(CFG["vocab_size"])
    legacy["bert.embeddings.position_ids"] = torch.arange(CFG["max_position_embeddings"]).unsqueeze(0)
    write_config("ref-bin", {"architectures": ["BertForSequenceClassification"]})
    torch.save(legacy, "ref-bin/pytorch_model.bin")

    # Span (QA) checkpoint.
    ws = make_weights("span", 2)
    write_config("ref-span", {"architectures": ["BertForQuestionAnswering"]})
    write_safetensors("ref-span/model.safetensors", ws)
    logits, _ = forward(ws, ids, types, mask, "span")
    ref["span_logits"] = logits.tolist()

ref["torch_version"] = torch.__version__
with open("reference.json", "w") as fh:
    json.dump(ref, fh)
print("wrote ref-cls, ref-bin, ref-span and reference.json with torch", torch.__version__)
