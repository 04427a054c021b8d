// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function History(_: { params: Params }) { return <p>History</p>; }
