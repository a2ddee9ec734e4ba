// Numeric buffer types shared by every layer (kernels, nn, model, sample): flat typed arrays, row-major.
export type F32 = Float32Array;
export type I32 = Int32Array;
