// WCAG contrast of what the page shows (see contrastProblems in helpers.ts): evaluated in the page,
// its value is the number of elements checked and the list of problems.
(() => {
  for (const a of document.getAnimations()) a.finish();
  const parse = (c) => {
    const m = /rgba?\(([\d.]+),?\s*([\d.]+),?\s*([\d.]+)(?:,?\s*\/?\s*([\d.]+))?\)/.exec(c);
    if (m === null) throw new Error(`unparsed colour ${c}`);
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  };
  const over = (top, below) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1);
  };
  const luminance = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  /** The opaque colour behind `el`: its own background and its ancestors', blended. */
  const background = (el) => {
    const layers = [];
    for (let e = el; e !== null; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] > 0) layers.push(bg);
      if (bg[3] >= 1) break;
    }
    let c = [255, 255, 255, 1];
    for (const layer of layers.reverse()) c = over(layer, c);
    return c;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return (
      r.width > 0 &&
      r.height > 0 &&
      r.right > 0 &&
      r.bottom > 0 &&
      s.visibility === 'visible' &&
      el.closest('[hidden]') === null
    );
  };
  const describe = (el) =>
    `${el.closest('[aria-label]')?.getAttribute('aria-label') ?? ''} ${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? `.${el.className.split(' ').join('.')}` : ''}`.trim();
  const problems = [];
  let checked = 0;
  const theme = document.documentElement.dataset.theme ?? '';
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
    const control = el.matches('select, input, textarea, button');
    const svgText = el instanceof SVGTextElement;
    const mark = el.matches('.chart rect');
    if (!own && !control && !svgText && !mark) continue;
    checked++;
    const s = getComputedStyle(el);
    const behind = background(svgText || mark ? el.closest('figure') : el);
    const fg = over(parse(svgText || mark ? s.fill : s.color), behind);
    const size = Number.parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const needed = mark || large ? 3 : 4.5;
    const r = ratio(fg, behind);
    if (r < needed) {
      problems.push({
        theme,
        what: describe(el),
        text: (el.textContent ?? '').trim().slice(0, 40),
        ratio: Math.round(r * 100) / 100,
        needed,
      });
    }
  }
  return { checked, problems };
})();
