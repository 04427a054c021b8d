//! Passwords: argon2id hashes (OWASP's parameters: 19 MiB, 2 passes, 1 lane) and the policy.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use spindle_shared::Problem;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// An argon2id hash of a random password with the same parameters: login verifies against it
/// when the email is unknown, so both answers take about the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3BpbmRsZS1kdW1teS1zYWx0$OKyVKx5n7oGiwBLmBcsOq2w9H5n2n1DUiTH8dUaoB3w";

/// The most common passwords of at least eight characters (from the public breach lists),
/// lower-cased; refused whatever their case.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "123123123",
    "11111111",
    "00000000",
    "88888888",
    "87654321",
    "99999999",
    "12341234",
    "11223344",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "qwerty1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "asdfghjkl",
    "asdf1234",
    "zxcvbnm1",
    "abc12345",
    "abcd1234",
    "a1b2c3d4",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "basketball",
    "superman",
    "batman123",
    "trustno1",
    "starwars",
    "whatever",
    "welcome1",
    "welcome123",
    "letmein1",
    "letmein123",
    "dragon123",
    "monkey123",
    "master123",
    "shadow123",
    "michael1",
    "jennifer",
    "jordan23",
    "computer",
    "internet",
    "mustang1",
    "liverpool",
    "chelsea1",
    "charlie1",
    "freedom1",
    "changeme",
    "changeme123",
    "administrator",
    "admin123",
    "admin1234",
    "secret123",
    "spotify1",
    "musiclover",
    "loveyou1",
    "lovely123",
    "1234qwer",
    "qazwsxedc",
    "aa123456",
    "a123456789",
    "987654321",
    "123qweasd",
    "qweasdzxc",
    "passwort",
    "motdepasse",
    "contraseña",
];

/// The policy: 8 to 128 characters, not a well-known password, not the email itself.
pub fn check_policy(password: &str, email: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(format!("must be at least {MIN_CHARS} characters"));
    }
    if chars > MAX_CHARS {
        return Err(format!("must be at most {MAX_CHARS} characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("is one of the most common passwords; choose another".into());
    }
    if !email.is_empty() && lower == email.to_lowercase() {
        return Err("must not be the email address".into());
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh 16-byte salt.
pub fn hash(password: &str) -> Result<String, Problem> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Problem::internal(format!("randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Problem::internal(format!("password salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Problem::internal(format!("hashing the password: {e}")))
}

/// Whether `password` matches `stored`; without a stored hash, it is checked against a dummy
/// (and is false) so the time taken does not tell whether the account exists.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(DUMMY_HASH)) else {
        return false;
    };
    let ok = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", Some(&phc)));
        assert!(!verify("Correct horse battery", Some(&phc)));
        assert_ne!(phc, hash("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn the_dummy_hash_has_the_same_parameters_and_never_matches() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash("whatever you like").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.algorithm, real.algorithm);
        assert!(!verify("anything", None));
        assert!(!verify("anything", Some("not a phc string")));
    }

    #[test]
    fn the_policy_refuses_short_long_common_and_email_passwords() {
        assert!(check_policy("seven77", "a@b.c").is_err());
        assert!(check_policy(&"x".repeat(129), "a@b.c").is_err());
        assert!(check_policy(&"é".repeat(128), "a@b.c").is_ok());
        assert!(check_policy("PassWord123", "a@b.c").is_err());
        assert!(check_policy("ann@example.com", "ann@example.com").is_err());
        assert!(check_policy("blue tangerine ride", "a@b.c").is_ok());
        for p in COMMON {
            assert!(
                p.chars().count() >= MIN_CHARS,
                "{p} could never pass anyway"
            );
            assert_eq!(*p, p.to_lowercase());
        }
    }
}
