// Placeholder: replaced by the page's implementation.
import type { Params } from "../../router";
export function Admin(_: { params: Params }) { return <p>Admin</p>; }
