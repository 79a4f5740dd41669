"""One scikit-learn fit, timed: sklearn_run.py AUDIO N_FFT HOP POWER THREADS MAX_ITER

V = |STFT|^POWER of AUDIO computed as innmf does (centred, zero padding, periodic sqrt-Hann,
unnormalised DFT; frequencies × frames, float32), then
NMF(n_components=20, solver="mu", beta_loss="kullback-leibler", init="random", max_iter=MAX_ITER,
tol=0, random_state=0).fit_transform(V) under threadpool_limits(THREADS). Prints one JSON object:
seconds (the whole fit, wall), cpu_seconds (its CPU time, all threads), n_iter, loss (mean generalised KL of V against W·H per entry, in float64,
innmf's definition), blas (threadpoolctl's view; empty: the reference BLAS)."""
import json
import sys
import time
import wave

import numpy as np
import threadpoolctl
from sklearn.decomposition import NMF


def read_wav(path):
    with wave.open(path) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        return x.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def stft_magnitude(x, n_fft, hop):
    n = np.arange(n_fft)
    window = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)).astype(np.float32)
    padded = np.pad(x, n_fft // 2)
    frames = 1 + len(x) // hop
    stack = np.stack([padded[j * hop:j * hop + n_fft] * window for j in range(frames)])
    return np.abs(np.fft.rfft(stack, axis=1)).T.astype(np.float32)


def main():
    path, n_fft, hop, power, threads, max_iter = sys.argv[1:7]
    x, _ = read_wav(path)
    V = np.ascontiguousarray(stft_magnitude(x, int(n_fft), int(hop)) ** float(power), dtype=np.float32)
    with threadpoolctl.threadpool_limits(int(threads)):
        model = NMF(n_components=20, solver="mu", beta_loss="kullback-leibler", init="random",
                    max_iter=int(max_iter), tol=0, random_state=0)
        start, start_cpu = time.perf_counter(), time.process_time()
        W = model.fit_transform(V)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
        blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads")}
                for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    H = model.components_
    Vd = V.astype(np.float64)
    WH = np.maximum(W.astype(np.float64) @ H.astype(np.float64), np.finfo(np.float32).eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(Vd > 0, Vd * np.log(Vd / WH), 0.0) - Vd + WH
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "n_iter": int(model.n_iter_), "loss": float(kl.mean()),
                      "shape": list(V.shape), "blas": blas}))


if __name__ == "__main__":
    main()
