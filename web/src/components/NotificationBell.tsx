// Placeholder: the unread badge (replaced by its implementation).
export function NotificationBell() {
  return null;
}
