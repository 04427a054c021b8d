// The busy flag and error handling of a button's request, written once.

import { useState } from "preact/hooks";

/**
 * `busy` while `run(action)` is under way. `onError(null)` clears the last error as it starts;
 * a failure goes to `onError` (a page's error note, a toast).
 */
export function useAction(onError: (error: unknown) => void): { busy: boolean; run: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    onError(null);
    try {
      await action();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}
