# PyTorch sampling speed at its best thread count, for bench/compare.mjs. ../shared/reference/pytorch_bench.py
# samples on one thread only (torch.set_num_threads(1)); this times the same model and loop (its CharRNN, softmax at
# temperature 0.8, multinomial) at each thread count in --threads, each over a window of at least --min-time
# seconds (n doubles until it is), and prints one JSON line with the best rate per batch size and its thread count.
# --dtype bfloat16 casts the model to bf16 (PyTorch's own CPU bf16 path), to set beside `charlm bench --precision bf16`.
import argparse, importlib.util, json, time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pytorch", default="../shared/reference/pytorch_bench.py")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--batches", default="1,32")
    p.add_argument("--min-time", type=float, default=2.0)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    a = p.parse_args()
    spec = importlib.util.spec_from_file_location("pytorch_bench", a.pytorch)
    pb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pb)
    torch.manual_seed(0)
    m = pb.CharRNN("lstm", a.vocab, 256, 512, 2).eval().to(getattr(torch, a.dtype))
    out = {"engine": f"pytorch {torch.__version__}", "dtype": a.dtype, "min_time_s": a.min_time}
    for batch in map(int, a.batches.split(",")):
        best, best_t = 0.0, 0
        for threads in map(int, a.threads.split(",")):
            torch.set_num_threads(threads)
            with torch.inference_mode():
                x, h = torch.randint(0, a.vocab, (batch, 1)), None
                for _ in range(10):
                    _, h = m(x, h)
                n = 50
                while True:
                    t = time.perf_counter()
                    for _ in range(n):
                        o, h = m(x, h)
                        x = torch.multinomial(torch.softmax(o[:, -1].float() / 0.8, dim=-1), 1)
                    dt = time.perf_counter() - t
                    if dt >= a.min_time:
                        break
                    n *= 2
            rate = batch * n / dt
            out[f"sample_chars_per_s_b{batch}_t{threads}"] = round(rate)
            if rate > best:
                best, best_t = rate, threads
        out[f"sample_chars_per_s_b{batch}"] = round(best)
        out[f"sample_threads_b{batch}"] = best_t
    print(json.dumps(out))


if __name__ == "__main__":
    main()
