//! Sending an event's emails: each is recorded first (once per event, template and recipient)
//! and then sent; a failure leaves it pending and fails the event, so the bus retries it and
//! only what did not go yet is sent again.

use crate::email::{Email, Transport};
use crate::store::Store;

/// Records `emails` for `event_id` and sends every one still pending.
pub fn send_all(
    store: &Store,
    transport: &Transport,
    event_id: &str,
    emails: &[(&str, Email)],
) -> Result<(), String> {
    for (template, email) in emails {
        store.add_delivery(event_id, template, email)?;
    }
    let mut failures = Vec::new();
    for delivery in store.pending_deliveries(event_id)? {
        let email = Email {
            to: delivery.recipient.clone(),
            subject: delivery.subject.clone(),
            text: delivery.text_body.clone(),
            html: delivery.html_body.clone(),
        };
        if matches!(transport, Transport::DevOutbox) {
            // No transport configured: the log and the outbox are where mail goes.
            println!(
                "[dev outbox] to {}: {}\n{}",
                email.to, email.subject, email.text
            );
            store.delivered(delivery.id, "outbox")?;
            continue;
        }
        match transport.send(&email) {
            Ok(()) => store.delivered(delivery.id, "sent")?,
            Err(e) => {
                store.delivery_failed(delivery.id, &e)?;
                failures.push(format!("{}: {e}", delivery.recipient));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}
