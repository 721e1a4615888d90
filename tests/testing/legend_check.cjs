#!/usr/bin/env node
// Checks a picture's legends against its pixels, from three renderings of
// it: FULL, NO_LEGEND (the legends taken out) and CURVES (only its curves
// and marks). Everything a legend draws lies in its box, and no curve or mark
// is drawn in a box: a legend never hides what it explains.
//
// Usage: legend_check.cjs FULL.png NO_LEGEND.png CURVES.png "X Y W H,X Y W H,..."
'use strict';
const {decodePng} = require('./png.cjs');

const [fullFile, bareFile, curvesFile, boxList] = process.argv.slice(2);
const fail = (message) => {
  console.error(`legend_check: ${message}`);
  process.exit(1);
};
const [full, bare, curves] = [fullFile, bareFile, curvesFile].map(decodePng);
const boxes = boxList.split(',').map((box) => box.trim().split(/\s+/).map(Number));
// Anti-aliasing may reach a pixel past a box's edge.
const inBox = (x, y) => boxes.some(([bx, by, bw, bh]) =>
  x >= bx - 1 && x <= bx + bw + 1 && y >= by - 1 && y <= by + bh + 1);
let legendPixels = 0, curvePixels = 0;
for (let y = 0; y < full.height; y++) {
  for (let x = 0; x < full.width; x++) {
    const [a, b] = [full.rgb(x, y), bare.rgb(x, y)];
    if (a.some((value, c) => Math.abs(value - b[c]) > 8)) {
      legendPixels++;
      if (!inBox(x, y)) fail(`the legend draws at (${x}, ${y}), outside its box`);
    }
    if (curves.rgb(x, y).some((value) => value < 240)) {
      curvePixels++;
      if (inBox(x, y)) fail(`a curve or mark is drawn at (${x}, ${y}), in a legend's box`);
    }
  }
}
if (legendPixels === 0 || curvePixels === 0) fail('no legend or no curve was drawn');
console.log(`legend_check: ${boxes.length} legends, ${legendPixels} pixels, ` +
            `clear of ${curvePixels} curve pixels`);
