/** A stable colour per label (the same in the wall, the timeline and the charts), dark enough for white text beside it. */
export function labelColour(label: string): string {
  // FNV-1a, then the golden angle: similar labels ("walking", "running") land far apart on the wheel.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return `hsl(${Math.round((h * 137.508) % 360)} 70% 38%)`;
}
