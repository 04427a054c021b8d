// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function SongPage(_: { params: Params }) { return <p>SongPage</p>; }
