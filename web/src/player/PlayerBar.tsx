// Placeholder: the player bar (replaced by its implementation).
export function PlayerBar() {
  return <footer class="player" aria-label="Player" />;
}
