// The gpt family's parameters, named and shaped exactly as nanoGPT's model.py state_dict (lm_head.weight is tied to
// transformer.wte.weight and stored once), with typed views per block for the model code.
import type { F32 } from '../../kernels/backend.js';
import type { ParamSpec, ParamStore } from '../../nn/params.js';
import type { GptConfig } from '../config.js';

export function gptParamSpecs(c: GptConfig): ParamSpec[] {
  const { n_layer: L, n_embd: C, block_size: S, vocab_size: V, bias } = c;
  const specs: ParamSpec[] = [{ name: 'transformer.wte.weight', shape: [V, C] },
                              { name: 'transformer.wpe.weight', shape: [S, C] }];
  const lin = (name: string, out: number, inp: number) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp] });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out] });
  };
  const ln = (name: string) => {
    specs.push({ name: `${name}.weight`, shape: [C] });
    if (bias) specs.push({ name: `${name}.bias`, shape: [C] });
  };
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`;
    ln(`${p}.ln_1`);
    lin(`${p}.attn.c_attn`, 3 * C, C);
    lin(`${p}.attn.c_proj`, C, C);
    ln(`${p}.ln_2`);
    lin(`${p}.mlp.c_fc`, 4 * C, C);
    lin(`${p}.mlp.c_proj`, C, 4 * C);
  }
  ln('transformer.ln_f');
  return specs;
}

/** A weight (and optional bias) with their gradients. */
export interface Affine { w: F32; b: F32 | null; dw: F32; db: F32 | null }

export interface BlockParams { ln1: Affine; attn: Affine; proj: Affine; ln2: Affine; fc: Affine; mlpProj: Affine }

export function affine(ps: ParamStore, name: string, bias: boolean): Affine {
  return { w: ps.value(`${name}.weight`), dw: ps.gradOf(`${name}.weight`),
           b: bias ? ps.value(`${name}.bias`) : null, db: bias ? ps.gradOf(`${name}.bias`) : null };
}

export function blockParams(ps: ParamStore, l: number, bias: boolean): BlockParams {
  const p = `transformer.h.${l}`;
  return { ln1: affine(ps, `${p}.ln_1`, bias), attn: affine(ps, `${p}.attn.c_attn`, bias),
           proj: affine(ps, `${p}.attn.c_proj`, bias), ln2: affine(ps, `${p}.ln_2`, bias),
           fc: affine(ps, `${p}.mlp.c_fc`, bias), mlpProj: affine(ps, `${p}.mlp.c_proj`, bias) };
}
