/** A named host tensor as read from a weights file; fp16/bf16 are widened to float32 on load. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

/** Tensors by name, in the order the file listed them. */
export type TensorMap = Map<string, HostTensor>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
