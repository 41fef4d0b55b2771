import type { ModelDescriptor } from '../../common/model-descriptor.ts';
import type { Ops, ParamSpec } from './ops.ts';

/** A built model: its parameters by name and its forward pass, independent of any backend. */
export interface ModelDef<O = unknown> {
  kind: 'unet' | 'classifier';
  options: O;
  params: ParamSpec[];
  forward<T>(ops: Ops<T>, x: T): T;
  /** Image-to-image models describe themselves for the engine and UI. */
  descriptor?: ModelDescriptor;
}

/** Layer groups are the first segment of a parameter name: `encoder`, `decoder`, `head`, `classifier`. */
export function paramGroup(paramName: string): string {
  return paramName.split('/')[0];
}
