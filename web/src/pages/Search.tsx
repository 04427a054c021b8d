// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Search(_: { params: Params }) { return <p>Search</p>; }
