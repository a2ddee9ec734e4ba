#!/usr/bin/env python3
# OpenBLAS SGEMM timings on charlm's GEMM shapes, the yardstick for bench/gemm.ts (which runs this script).
# Calls cblas_sgemm (and cblas_sbgemm, bf16, when present) through ctypes on numpy buffers, at 1 and 2 threads.
# Run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset (they force a slower kernel). Library: --lib, $OPENBLAS_LIB,
# or the usual install paths; without OpenBLAS it times numpy.matmul and says which BLAS that was.
import argparse, ctypes, json, os, sys, time
import numpy as np

SHAPES = [  # M, N, K, transA, transB, what (the seed model: B=64 T=100 E=256 H=512 V=65, LSTM 4H=2048)
    (6400, 2048, 256, False, True, 'X·W_ihᵀ L1'), (6400, 2048, 512, False, True, 'X·W_ihᵀ L2'),
    (64, 2048, 512, False, True, 'h·W_hhᵀ step'), (6400, 65, 512, False, True, 'fc'),
    (2048, 512, 6400, True, False, 'dW L2'), (2048, 256, 6400, True, False, 'dW L1'),
    (65, 512, 6400, True, False, 'dW fc'), (6400, 512, 2048, False, False, 'dX'),
    (64, 512, 2048, False, False, 'dh step'), (6400, 512, 65, False, False, 'dX fc'),
    (1, 2048, 512, False, True, 'sample B=1'),
]
CANDIDATES = ['/usr/lib/x86_64-linux-gnu/libopenblas.so.0',
              '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
              '/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0',
              '/usr/lib/aarch64-linux-gnu/libopenblas.so.0', '/usr/local/lib/libopenblas.so.0']


def timeit(fn, min_time=0.3, min_reps=3):
    fn()
    best, reps, start = float('inf'), 0, time.perf_counter()
    while reps < min_reps or time.perf_counter() - start < min_time:
        t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0); reps += 1
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--lib', default=os.environ.get('OPENBLAS_LIB'))
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--min-time', type=float, default=0.3)
    args = ap.parse_args()
    for v in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'):
        if v in os.environ:
            print(f'warning: {v}={os.environ[v]} is set; unset it for a fair benchmark', file=sys.stderr)
    path = args.lib or next((p for p in CANDIDATES if os.path.exists(p)), None)
    lib, info = None, {}
    if path:
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        I, F, P = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
        for fn in ('cblas_sgemm', 'cblas_sbgemm'):
            if hasattr(lib, fn):
                getattr(lib, fn).argtypes = [I, I, I, I, I, I, F, P, I, P, I, F, P, I]
                getattr(lib, fn).restype = None
        lib.openblas_set_num_threads.argtypes = [I]
        info = {'library': path, 'corename': lib.openblas_get_corename().decode(),
                'config': lib.openblas_get_config().decode()}
    else:
        np.ones((8, 8), np.float32) @ np.ones((8, 8), np.float32)
        blas = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.lower()})
        info = {'library': 'numpy.matmul via ' + ', '.join(blas), 'corename': 'n/a', 'config': 'n/a'}
    has_sb = lib is not None and hasattr(lib, 'cblas_sbgemm')
    rows = []
    rng = np.random.default_rng(0)
    for (M, N, K, tA, tB, what) in SHAPES:
        A = rng.standard_normal((K, M) if tA else (M, K), dtype=np.float32)
        B = rng.standard_normal((N, K) if tB else (K, N), dtype=np.float32)
        C = np.zeros((M, N), np.float32)
        row = {'M': M, 'N': N, 'K': K, 'tA': tA, 'tB': tB, 'what': what}
        for nt in [int(x) for x in args.threads.split(',')]:
            if lib is not None:
                lib.openblas_set_num_threads(nt)
                f = lambda: lib.cblas_sgemm(101, 112 if tA else 111, 112 if tB else 111, M, N, K,
                                            ctypes.c_float(1.0), A.ctypes.data, M if tA else K, B.ctypes.data,
                                            K if tB else N, ctypes.c_float(0.0), C.ctypes.data, N)
            else:
                f = lambda: np.matmul(A.T if tA else A, B.T if tB else B, out=C)
            row[f'fp32_{nt}t'] = 2.0 * M * N * K / timeit(f, args.min_time) / 1e9
            if has_sb:
                Ab = (A.view(np.uint32) >> 16).astype(np.uint16)   # truncation is fine for timing
                Bb = (B.view(np.uint32) >> 16).astype(np.uint16)
                g = lambda: lib.cblas_sbgemm(101, 112 if tA else 111, 112 if tB else 111, M, N, K,
                                             ctypes.c_float(1.0), Ab.ctypes.data, M if tA else K, Bb.ctypes.data,
                                             K if tB else N, ctypes.c_float(0.0), C.ctypes.data, N)
                row[f'bf16_{nt}t'] = 2.0 * M * N * K / timeit(g, args.min_time) / 1e9
        rows.append(row)
    if args.json:
        print(json.dumps({'info': info, 'rows': rows}))
        return
    print(f"# {info['library']} | core {info['corename']} | {info['config']}")
    keys = [k for k in rows[0] if k.startswith(('fp32', 'bf16'))]
    print(f"{'shape':<24}{'what':<14}" + ''.join(f'{k:>11}' for k in keys))
    for r in rows:
        shape = f"{r['M']}x{r['N']}x{r['K']} {'T' if r['tA'] else 'N'}{'T' if r['tB'] else 'N'}"
        print(f'{shape:<24}{r["what"]:<14}' + ''.join(f'{r[k]:>11.1f}' for k in keys))


if __name__ == '__main__':
    main()
