#!/usr/bin/python3
"""Regenerates general-tiny/: a tiny checkpoint in the layout of the public
general-distilled TinyBERT (huawei-noah/TinyBERT_General_4L_312D): TinyBERT's
own config.json keys (cell, emb_size, pre_trained, structure, training; no
model_type), a vocab.txt, and a pytorch_model.bin written by torch.save in the
legacy (pre-1.6) format with the state dict of TinyBertForPreTraining as that
checkpoint has it: bert.*, the pre-training heads cls.predictions.* (decoder
tied to the word embeddings) and cls.seq_relationship.*, and the per-layer
projections fit_denses.0 .. fit_denses.L of the v2 checkpoints (one per
representation: embeddings, then each layer), here to a 32-wide teacher.

Run from this directory with Debian's python3-torch:  /usr/bin/python3 make_general.py
"""
import json, os
import torch

torch.manual_seed(4321)
L, D, F, H, V, P, T = 2, 16, 32, 2, 48, 40, 32  # layers, hidden, FFN, heads, vocab, positions, teacher width
WORDS = ["the", "a", "dog", "cat", "bird", "fish", "ran", "sat", "saw", "ate", "big", "small", "red", "blue",
         "green", "house", "tree", "river", "near", "under", "with", "and", "food", "bread", "milk", "##s",
         "##ed", "un", "##happy", ".", ",", "!", "?", "'", "good", "bad", "day", "night", "old", "new"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
VOCAB += ["[unused%d]" % i for i in range(V - len(VOCAB))]
assert len(VOCAB) == V

def r(*shape):
    return (torch.randn(*shape) * 0.5).float()

sd = {}
sd["bert.embeddings.word_embeddings.weight"] = r(V, D)
sd["bert.embeddings.position_embeddings.weight"] = r(P, D)
sd["bert.embeddings.token_type_embeddings.weight"] = r(2, D)
sd["bert.embeddings.LayerNorm.weight"] = 1 + r(D) * 0.2
sd["bert.embeddings.LayerNorm.bias"] = r(D) * 0.2
for l in range(L):
    p = "bert.encoder.layer.%d." % l
    for n in ["query", "key", "value"]:
        sd[p + "attention.self.%s.weight" % n] = r(D, D)
        sd[p + "attention.self.%s.bias" % n] = r(D)
    sd[p + "attention.output.dense.weight"] = r(D, D)
    sd[p + "attention.output.dense.bias"] = r(D)
    sd[p + "attention.output.LayerNorm.weight"] = 1 + r(D) * 0.2
    sd[p + "attention.output.LayerNorm.bias"] = r(D) * 0.2
    sd[p + "intermediate.dense.weight"] = r(F, D)
    sd[p + "intermediate.dense.bias"] = r(F)
    sd[p + "output.dense.weight"] = r(D, F)
    sd[p + "output.dense.bias"] = r(D)
    sd[p + "output.LayerNorm.weight"] = 1 + r(D) * 0.2
    sd[p + "output.LayerNorm.bias"] = r(D) * 0.2
sd["bert.pooler.dense.weight"] = r(D, D)
sd["bert.pooler.dense.bias"] = r(D)
sd["cls.predictions.bias"] = r(V)
sd["cls.predictions.transform.dense.weight"] = r(D, D)
sd["cls.predictions.transform.dense.bias"] = r(D)
sd["cls.predictions.transform.LayerNorm.weight"] = 1 + r(D) * 0.2
sd["cls.predictions.transform.LayerNorm.bias"] = r(D) * 0.2
sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]  # tied, one storage
sd["cls.seq_relationship.weight"] = r(2, D)
sd["cls.seq_relationship.bias"] = r(2)
for i in range(L + 1):
    sd["fit_denses.%d.weight" % i] = r(T, D)
    sd["fit_denses.%d.bias" % i] = r(T)

cfg = {"attention_probs_dropout_prob": 0.1, "cell": {}, "emb_size": D, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
       "hidden_size": D, "initializer_range": 0.02, "intermediate_size": F, "max_position_embeddings": P,
       "num_attention_heads": H, "num_hidden_layers": L, "pre_trained": "", "structure": [], "training": "",
       "type_vocab_size": 2, "vocab_size": V}
os.makedirs("general-tiny", exist_ok=True)
with open("general-tiny/config.json", "w") as f:
    json.dump(cfg, f, indent=2, sort_keys=True)
    f.write("\n")
with open("general-tiny/vocab.txt", "w") as f:
    f.write("\n".join(VOCAB) + "\n")
torch.save(sd, "general-tiny/pytorch_model.bin", _use_new_zipfile_serialization=False)
# The values the Go test compares with (first entries of a few tensors).
ref = {k: sd[k].flatten()[:4].tolist() for k in ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.1.output.dense.weight",
                                                   "fit_denses.0.weight", "fit_denses.2.bias"]}
with open("general-tiny/reference.json", "w") as f:
    json.dump(ref, f, indent=1, sort_keys=True)
    f.write("\n")
