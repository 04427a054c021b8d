// The account pages the router shows: sign-in (password, code, Google), sign-up, password
// reset and email verification.

export { SignIn } from "./SignIn";
export { SignUp } from "./SignUp";
export { CodeSignIn } from "./CodeSignIn";
export { ResetPassword } from "./ResetPassword";
export { VerifyEmail } from "./VerifyEmail";
export { GoogleCallback } from "./GoogleCallback";
