// Placeholder: replaced by the page's implementation.
import type { Params } from "../../router";
export function SignIn(_: { params: Params }) { return <p>SignIn</p>; }
export function SignUp(_: { params: Params }) { return <p>SignUp</p>; }
export function CodeSignIn(_: { params: Params }) { return <p>CodeSignIn</p>; }
export function ResetPassword(_: { params: Params }) { return <p>ResetPassword</p>; }
export function VerifyEmail(_: { params: Params }) { return <p>VerifyEmail</p>; }
export function GoogleCallback(_: { params: Params }) { return <p>GoogleCallback</p>; }
