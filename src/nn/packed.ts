// A weight matrix W(N,K) (PyTorch layout) used in many products, with the backend's pre-packed copy when it has one
// (Backend.packWeights). The copy is read only while fresh: its owner (CharModel) refreshes it after weights change
// and marks it stale whenever they may change, so a stale copy is never used; otherwise products go to matmul.
import type { Backend, F32, PackedMatrix, PackModes } from '../kernels/backend.js';

function covers(have: PackModes, want: PackModes): boolean {
  return have === 'both' || have === want;
}

export class PackedWeight {
  private packed: PackedMatrix | null = null;
  private owner: Backend | null = null;
  private fresh = false;

  constructor(readonly W: F32, readonly N: number, readonly K: number) {}

  /** Packs (or re-packs) W for `be` with at least `modes`; a no-op on backends without the packed API. */
  refresh(be: Backend, modes: PackModes): void {
    if (!be.packWeights || !be.repack || !be.matmulPacked) { this.release(); return; }
    const p = this.owner === be ? this.packed : null;
    if (p && covers(p.modes, modes)) be.repack(p, this.W);
    else this.packed = be.packWeights(this.W, this.N, this.K, p ? 'both' : modes);
    this.owner = be;
    this.fresh = true;
  }

  /** W may change: products use matmul until the next refresh. */
  stale(): void { this.fresh = false; }

  /** Drops the packed copy (its memory goes with the handle). */
  release(): void { this.packed = null; this.owner = null; this.fresh = false; }

  /** C(M,N) (+)= A(M,K)·Wᵀ */
  nt(be: Backend, C: F32, A: F32, M: number, accumulate: boolean): void {
    const p = this.usable(be, 'nt');
    if (p) be.matmulPacked!(C, A, p, M, 'nt', accumulate);
    else be.matmul(C, A, this.W, M, this.N, this.K, false, true, accumulate);
  }

  /** C(M,K) (+)= A(M,N)·W */
  nn(be: Backend, C: F32, A: F32, M: number, accumulate: boolean): void {
    const p = this.usable(be, 'nn');
    if (p) be.matmulPacked!(C, A, p, M, 'nn', accumulate);
    else be.matmul(C, A, this.W, M, this.K, this.N, false, false, accumulate);
  }

  private usable(be: Backend, mode: 'nt' | 'nn'): PackedMatrix | null {
    const p = this.packed;
    return p && this.fresh && this.owner === be && covers(p.modes, mode) ? p : null;
  }
}
