"""Companion of gpu_check.sh: transformers on the same machine as graphprobe.

accuracy OUT: graphprobe's CUDA outputs against the float32 fixtures, and for scale, how far
  transformers' own bfloat16 eager path lands from its float32 fixtures.
datasets OUT: a dataset built on the GPU in bfloat16 against the same built on the CPU.
throughput CONFIGS: transformers eager + output_attentions to host, and SDPA forward only,
  random weights, bfloat16, batch 32, T=128 (the anchors' setup).
"""
import json, os, sys, time

import torch
from safetensors.torch import load_file

MODELS = "tests/data/hf-reference/models"


def valid_rows_max(a, b, mask):
    rows = mask.to(torch.float64).view(1, mask.shape[0], 1, mask.shape[1], 1)
    return float(((a.double() - b.double()).abs() * rows).max())


def accuracy(out):
    from transformers import AutoModelForCausalLM
    for m in ["tiny-llama3", "tiny-qwen2", "tiny-gemma2"]:
        exp = load_file(f"{MODELS}/{m}/expected.safetensors")
        mask = exp["attention_mask"]
        for dtype in ["float32", "bfloat16"]:
            for kernel in ["explicit", "fused"]:
                got = load_file(f"{out}/{m}-{dtype}-{kernel}.safetensors")
                att = valid_rows_max(got["attentions"], exp["attentions"], mask)
                lg = valid_rows_max(got["logits"].unsqueeze(0), exp["logits"].unsqueeze(0), mask)
                print(f"graphprobe cuda {m} {dtype} {kernel}: max attention error {att:.2e}, max logit error {lg:.2e}")
        hf = AutoModelForCausalLM.from_pretrained(f"{MODELS}/{m}", dtype=torch.bfloat16, attn_implementation="eager")
        with torch.no_grad():
            o = hf(input_ids=exp["input_ids"], attention_mask=mask, output_attentions=True)
        att = torch.stack(o.attentions).float()
        print(f"transformers cpu {m} bfloat16 eager: max attention error {valid_rows_max(att, exp['attentions'], mask):.2e}")


def throughput(configs):
    from transformers import AutoConfig, AutoModelForCausalLM
    import tempfile
    for name in ["llama-3.2-1b", "qwen2.5-0.5b"]:
        d = tempfile.mkdtemp()
        with open(f"{configs}/{name}.json") as f, open(os.path.join(d, "config.json"), "w") as g:
            g.write(f.read())
        config = AutoConfig.from_pretrained(d)
        for impl in ["eager", "sdpa"]:
            with torch.device("cuda"):
                m = AutoModelForCausalLM.from_config(config, attn_implementation=impl, dtype=torch.bfloat16).eval()
            ids = torch.randint(0, config.vocab_size, (32, 128), device="cuda")
            want = impl == "eager"

            def step():
                if want:
                    o = m.model(input_ids=ids, output_attentions=True)
                    return torch.stack(o.attentions).float().cpu()
                o = m.model(input_ids=ids)
                return o.last_hidden_state[:, -1].float().cpu()

            with torch.no_grad():
                for _ in range(2):
                    step()
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(5):
                    step()
                dt = (time.perf_counter() - t0) / 5
            what = "eager + attentions to host" if want else "sdpa forward only"
            print(f"transformers {name} {what}: {32 / dt:.1f} seq/s")
            del m
            torch.cuda.empty_cache()


def datasets(out):
    """The same dataset built on the CPU in float32 and on the GPU in bfloat16 (graphprobe
    dataset): everything but the features identical, the features within bfloat16 rounding."""
    cpu = load_file(f"{out}/dataset-cpu-float32.safetensors")
    gpu = load_file(f"{out}/dataset-cuda-bfloat16.safetensors")
    for name in cpu:
        if name == "features":
            continue
        same = torch.equal(cpu[name], gpu[name])
        print(f"dataset {name}: {'identical' if same else 'DIFFERENT'}")
    diff = (cpu["features"].double() - gpu["features"].double()).abs()
    scale = cpu["features"].double().abs().max()
    print(f"dataset features {tuple(cpu['features'].shape)}: largest difference {float(diff.max()):.2e} "
          f"(largest feature {float(scale):.2e}), mean {float(diff.mean()):.2e}")


if __name__ == "__main__":
    {"accuracy": accuracy, "throughput": throughput, "datasets": datasets}[sys.argv[1]](sys.argv[2])
