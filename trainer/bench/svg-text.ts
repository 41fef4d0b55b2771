/** Text for an SVG label that sharp renders: the characters XML would read as markup, escaped. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
