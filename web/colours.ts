/** A stable colour per label (the same in the wall, the timeline and the charts), dark enough for white text beside it. */
export function labelColour(label: string): string {
  let h = 0;
  for (let i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 70% 38%)`;
}
