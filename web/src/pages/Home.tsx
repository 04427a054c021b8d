// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Home(_: { params: Params }) { return <p>Home</p>; }
