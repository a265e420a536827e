import { ActionClipError, EngineError } from '../errors.js';

/**
 * One engine call from a stage. A call that rejects with an error outside the hierarchy is a
 * runtime fault of the engine (a lost device, memory): retriable, so the pipeline restarts the flow
 * rather than stopping. Errors of the hierarchy keep their own classification.
 */
export async function callEngine<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ActionClipError) throw err;
    // The engine's own message is what a user needs.
    throw new EngineError(err instanceof Error ? err.message : String(err), true, { cause: err });
  }
}
