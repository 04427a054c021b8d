// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Account(_: { params: Params }) { return <p>Account</p>; }
