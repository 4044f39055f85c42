#!/usr/bin/python3
"""Writes the tiny BERT fixture that Tests/Layers/BertTests.cs loads.

The forward pass below is plain PyTorch written from Hugging Face's modeling_bert.py formulas
(BertEmbeddings, BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput, BertPooler,
BertLMPredictionHead, BertForSequenceClassification), under Hugging Face's parameter names, so
the files here look like a published checkpoint: config.json, vocab.txt, model.safetensors.
No transformers or safetensors package is needed: the safetensors file is written by hand.

model.safetensors holds bert.* (with the pooler), cls.predictions.* (masked-LM head, the decoder
tied to the word embeddings, so not stored), cls.seq_relationship.* (next-sentence head, which
Tensorium skips) and classifier.* (3 classes), so one file serves BertForMaskedLM and
BertForSequenceClassification. expected.safetensors holds the inputs and the expected outputs,
computed in float64 from the float32 weights.

Run once from this folder with Debian's python3-torch: /usr/bin/python3 make_fixture.py
"""
import json, math, struct
import torch

torch.manual_seed(17)
config = {
    "architectures": ["BertForPreTraining"], "model_type": "bert",
    "vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 32, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 16, "type_vocab_size": 2,
    "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
}
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "lord", "god", "said", "un", "##to",
         "him", "and", "light", "was", "good", "in", "beginning", "earth", "heaven", "##s", "##ed",
         "##eth", "a", "b", "c", "d", "e", "##a", "##b", "##c", ",", ".", ":", ";", "!", "?",
         "let", "there", "be"]
assert len(vocab) == config["vocab_size"]
H, L, I = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
V, P, T, labels = config["vocab_size"], config["max_position_embeddings"], config["type_vocab_size"], 3

def rand(*shape, scale=0.5, mean=0.0):
    return (torch.randn(*shape) * scale + mean).float()

w = {}
def linear(name, n_in, n_out):
    w[name + ".weight"] = rand(n_out, n_in, scale=1 / math.sqrt(n_in))
    w[name + ".bias"] = rand(n_out, scale=0.1)
def layer_norm(name, n):
    w[name + ".weight"] = rand(n, scale=0.2, mean=1.0)
    w[name + ".bias"] = rand(n, scale=0.1)

w["bert.embeddings.word_embeddings.weight"] = rand(V, H)
w["bert.embeddings.position_embeddings.weight"] = rand(P, H)
w["bert.embeddings.token_type_embeddings.weight"] = rand(T, H)
layer_norm("bert.embeddings.LayerNorm", H)
for i in range(L):
    p = f"bert.encoder.layer.{i}."
    for part in ("query", "key", "value"):
        linear(p + "attention.self." + part, H, H)
    linear(p + "attention.output.dense", H, H)
    layer_norm(p + "attention.output.LayerNorm", H)
    linear(p + "intermediate.dense", H, I)
    linear(p + "output.dense", I, H)
    layer_norm(p + "output.LayerNorm", H)
linear("bert.pooler.dense", H, H)
linear("cls.predictions.transform.dense", H, H)
layer_norm("cls.predictions.transform.LayerNorm", H)
w["cls.predictions.bias"] = rand(V, scale=0.1)
linear("cls.seq_relationship", H, 2)
linear("classifier", H, labels)

# Two sequences of 12: a sentence pair, and a short sentence padded with [PAD].
input_ids = torch.tensor([[2, 5, 6, 8, 9, 10, 3, 11, 12, 3, 0, 0], [2, 37, 38, 39, 13, 32, 3, 0, 0, 0, 0, 0]])
token_type_ids = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0], [0] * 12])
attention_mask = (input_ids != 0).long()

def forward(w):
    d = {k: v.double() for k, v in w.items()}
    eps = config["layer_norm_eps"]
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (H,), d[n + ".weight"], d[n + ".bias"], eps)
    lin = lambda x, n: x @ d[n + ".weight"].T + d[n + ".bias"]
    gelu = lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))       # hidden_act "gelu": exact erf
    B, S = input_ids.shape
    positions = torch.arange(S)
    x = d["bert.embeddings.word_embeddings.weight"][input_ids] + d["bert.embeddings.position_embeddings.weight"][positions] \
        + d["bert.embeddings.token_type_embeddings.weight"][token_type_ids]
    x = ln(x, "bert.embeddings.LayerNorm")
    heads, dh = config["num_attention_heads"], H // config["num_attention_heads"]
    extended = (1.0 - attention_mask[:, None, None, :].double()) * torch.finfo(torch.float64).min
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        split = lambda t: t.view(B, S, heads, dh).permute(0, 2, 1, 3)
        q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + extended
        context = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(B, S, H)
        attention = ln(lin(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inter = gelu(lin(attention, p + "intermediate.dense"))
        x = ln(lin(inter, p + "output.dense") + attention, p + "output.LayerNorm")
    pooled = torch.tanh(lin(x[:, 0], "bert.pooler.dense"))
    t = ln(gelu(lin(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
    mlm = t @ d["bert.embeddings.word_embeddings.weight"].T + d["cls.predictions.bias"]
    return x, pooled, mlm, lin(pooled, "classifier")

hidden, pooled, mlm, cls = forward(w)

def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    codes = {torch.float32: "F32", torch.int64: "I64"}
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

save_safetensors("model.safetensors", w, {"format": "pt"})
save_safetensors("expected.safetensors", {
    "input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
    "last_hidden_state": hidden.float(), "pooler_output": pooled.float(),
    "mlm_logits": mlm.float(), "classification_logits": cls.float()})
with open("config.json", "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
with open("vocab.txt", "w") as f:
    f.write("\n".join(vocab) + "\n")
print("mlm logits", tuple(mlm.shape), "classification logits", cls.tolist())
