#!/usr/bin/env python3
"""Check that the synthetic tasks are learnable by a tiny BERT trained from scratch.

Independent of the Go trainer: reads the files `synth.Write` produced (GLUE TSV /
SQuAD JSON), maps each space-separated word to an id (every synthetic word is one
bert-base-uncased token, so this is the same sequence up to renumbering) and trains a
2-layer, hidden-64, 2-head BERT-style encoder (post-LN, GELU, dropout 0.1, N(0, 0.02)
init) with AdamW, batch 32, printing dev accuracy (span: exact start, regression:
Pearson) after every epoch.

usage: D=<dir written by synth.WriteAll> OMP_NUM_THREADS=1 \
       python3 learncheck.py {single|pair|reg|span} <lr> <seconds> [embedding rows]
Needs python3-torch (Debian). Not run by `go test`.

Measured here (2,000 train / 500 dev, seed 1, lr 1e-3, 1 thread, 200 embedding rows):
single 0.96 acc after 378 steps, pair 0.95 after 378, reg Pearson 0.95 after 378,
span 1.00 exact start after 945 (0.34 = chance among the three salient words before).
"""
import os, sys, json, time, math, random, torch, torch.nn as nn
torch.set_num_threads(1); torch.manual_seed(0); random.seed(0)
D = os.environ.get("D", "/tmp/syndata"); task = sys.argv[1]; lr = float(sys.argv[2]); budget = float(sys.argv[3])
vocab = {"[PAD]":0, "[CLS]":1, "[SEP]":2}
def ids(ws): return [vocab.setdefault(w, len(vocab)) for w in ws]
def tsv(path, a, b, l):
    rows = [r.rstrip("\n").split("\t") for r in open(path)][1:]
    return [(r[a].split(), r[b].split() if b is not None else None, r[l]) for r in rows]
def enc(a, b):
    x = [1] + ids(a) + [2]; t = [0]*len(x)
    if b is not None: y = ids(b) + [2]; x += y; t += [1]*len(y)
    return x, t
def squad(path):
    out = []
    for art in json.load(open(path))["data"]:
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                c = p["context"].split(); q = qa["question"].split(); a = qa["answers"][0]
                wi = len(p["context"][:a["answer_start"]].split())
                x, t = enc(q, c); s = len(q) + 2 + wi
                out.append((x, t, (s, s), qa["answers"][0]["text"], c, len(q)+2))
    return out
if task == "single": tr, dv = [tsv(f"{D}/SYN-SINGLE/{s}.tsv", 0, None, 1) for s in ("train","dev")]; nl = 2
if task == "pair": tr, dv = [tsv(f"{D}/SYN-PAIR/{s}.tsv", 1, 2, 3) for s in ("train","dev")]; nl = 3
if task == "reg": tr, dv = [tsv(f"{D}/SYN-REG/{s}.tsv", 7, 8, 9) for s in ("train","dev")]; nl = 1
labs = {"0":0,"1":1,"entailment":0,"neutral":1,"contradiction":2}
if task == "span": tr, dv = squad(f"{D}/SYN-SPAN/train-v1.1.json"), squad(f"{D}/SYN-SPAN/dev-v1.1.json"); nl = 2
else:
    tr = [(*enc(a,b), float(l) if nl==1 else labs[l]) for a,b,l in tr]; dv = [(*enc(a,b), float(l) if nl==1 else labs[l]) for a,b,l in dv]
H, L, NH, I = 64, 2, 2, 256
class Layer(nn.Module):
    def __init__(s):
        super().__init__(); s.att = nn.MultiheadAttention(H, NH, dropout=0.1, batch_first=True); s.ln1 = nn.LayerNorm(H, eps=1e-12)
        s.ff = nn.Sequential(nn.Linear(H, I), nn.GELU(), nn.Linear(I, H)); s.ln2 = nn.LayerNorm(H, eps=1e-12); s.do = nn.Dropout(0.1)
    def forward(s, x, pad):
        a, _ = s.att(x, x, x, key_padding_mask=pad); x = s.ln1(x + s.do(a)); return s.ln2(x + s.do(s.ff(x)))
class Bert(nn.Module):
    def __init__(s):
        super().__init__(); s.we = nn.Embedding(int(sys.argv[4]) if len(sys.argv) > 4 else 30522, H); s.pe = nn.Embedding(512, H); s.te = nn.Embedding(2, H); s.ln = nn.LayerNorm(H, eps=1e-12)
        s.layers = nn.ModuleList([Layer() for _ in range(L)]); s.pool = nn.Linear(H, H); s.head = nn.Linear(H, nl); s.do = nn.Dropout(0.1)
        for m in s.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)): nn.init.normal_(m.weight, std=0.02)
    def forward(s, x, t):
        pad = x == 0; p = torch.arange(x.shape[1])[None]
        h = s.do(s.ln(s.we(x) + s.pe(p) + s.te(t)))
        for l in s.layers: h = l(h, pad)
        if task == "span": return s.head(h)
        return s.head(s.do(torch.tanh(s.pool(h[:, 0]))))
def batch(rows):
    n = max(len(r[0]) for r in rows); x = torch.zeros(len(rows), n, dtype=torch.long); t = torch.zeros_like(x)
    for i, r in enumerate(rows): x[i,:len(r[0])] = torch.tensor(r[0]); t[i,:len(r[1])] = torch.tensor(r[1])
    return x, t
m = Bert(); opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.01)
def evaluate():
    m.eval(); ok = 0; se = []; 
    with torch.no_grad():
        for i in range(0, len(dv), 64):
            rows = dv[i:i+64]; x, t = batch(rows); o = m(x, t)
            if task == "span":
                for j, r in enumerate(rows):
                    n = len(r[0]); s = o[j,:n,0].clone(); e = o[j,:n,1].clone(); s[:r[5]] = -1e9; e[:r[5]] = -1e9
                    ok += int(s.argmax()) == r[2][0]
            elif nl == 1: se += list(zip(o[:,0].tolist(), [r[2] for r in rows]))
            else: ok += (o.argmax(-1) == torch.tensor([r[2] for r in rows])).sum().item()
    m.train()
    if nl == 1:
        import statistics as st
        p, g = zip(*se); mp, mg = st.mean(p), st.mean(g)
        return sum((a-mp)*(b-mg) for a,b in se) / math.sqrt(sum((a-mp)**2 for a in p) * sum((b-mg)**2 for b in g) + 1e-12)
    return ok / len(dv)
t0 = time.time(); step = 0; ep = 0; bs = 32
while time.time() - t0 < budget:
    random.shuffle(tr); ep += 1
    for i in range(0, len(tr), bs):
        rows = tr[i:i+bs]; x, t = batch(rows); o = m(x, t)
        if task == "span":
            y = torch.tensor([r[2][0] for r in rows]); loss = (nn.functional.cross_entropy(o[:,:,0], y) + nn.functional.cross_entropy(o[:,:,1], y)) / 2
        elif nl == 1: loss = nn.functional.mse_loss(o[:,0], torch.tensor([r[2] for r in rows]))
        else: loss = nn.functional.cross_entropy(o, torch.tensor([r[2] for r in rows]))
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
    print(f"{task} epoch {ep} step {step} t={time.time()-t0:.0f}s loss={loss.item():.3f} dev={evaluate():.3f}", flush=True)
