// Placeholder: replaced by the page's implementation.
import type { Params } from "../router";
export function Devices(_: { params: Params }) { return <p>Devices</p>; }
