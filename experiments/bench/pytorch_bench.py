#!/usr/bin/python3
"""PyTorch side of `cofi bench`: the same BERT shapes, threads, steps and device
as the Go measurement, in plain PyTorch (HF BertModel's structure: separate
Q/K/V linears, exact GELU, post-LayerNorm; AdamW; cross-entropy on the pooled
output). Prints one JSON object: the fastest training step and inference of
--steps, in ms (synchronised on a GPU).
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=2)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--device", default="cpu")
a = p.parse_args()
dev = torch.device(a.device)
torch.set_num_threads(a.threads)
torch.manual_seed(0)
d, H, f, V, P = 768, 12, 3072, 30522, 512


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.up, self.down = nn.Linear(d, f), nn.Linear(f, d)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, add):
        B, S, _ = x.shape
        sp = lambda t: t.view(B, S, H, d // H).transpose(1, 2)
        q, k, v = sp(self.q(x)), sp(self.k(x)), sp(self.v(x))
        pr = self.drop(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // H) + add, -1))
        c = (pr @ v).transpose(1, 2).reshape(B, S, d)
        x = self.ln1(self.drop(self.o(c)) + x)
        return self.ln2(self.drop(self.down(F.gelu(self.up(x)))) + x)


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(V, d), nn.Embedding(P, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([Layer() for _ in range(a.layers)])
        self.pool, self.cls = nn.Linear(d, d), nn.Linear(d, 2)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, types, mask):
        S = ids.shape[1]
        x = self.drop(self.ln(self.word(ids) + self.pos(torch.arange(S, device=ids.device)).unsqueeze(0) + self.typ(types)))
        add = (1.0 - mask.float())[:, None, None, :] * -10000.0
        for l in self.layers:
            x = l(x, add)
        return self.cls(self.drop(torch.tanh(self.pool(x[:, 0]))))


m = Bert().to(dev)
opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
ids = torch.randint(0, V, (a.batch, a.seq), device=dev)
types = torch.zeros_like(ids)
mask = torch.ones_like(ids)
y = torch.zeros(a.batch, dtype=torch.long, device=dev)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def step():
    opt.zero_grad()
    F.cross_entropy(m(ids, types, mask), y).backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()


# The fastest of the timed steps: on a shared machine the minimum is the
# least disturbed measurement (the Go side reports the same statistic).
def fastest(fn):
    fn()  # warm-up
    sync()
    best = float("inf")
    for _ in range(a.steps):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


m.train()
train_ms = fastest(step)
m.eval()
with torch.no_grad():
    infer_ms = fastest(lambda: m(ids, types, mask))
print(json.dumps({"train_ms": train_ms, "infer_ms": infer_ms, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": str(dev)}))
