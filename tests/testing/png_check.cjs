#!/usr/bin/env node
// Checks a PNG that a browser rendered: its size, and that it is a picture
// rather than a blank page: enough pixels that are not background white, in
// enough different colours.
//
// Usage: png_check.cjs FILE.png WIDTH HEIGHT
'use strict';
const {decodePng} = require('./png.cjs');

const [file, width, height] = process.argv.slice(2);
const fail = (message) => {
  console.error(`png_check ${file}: ${message}`);
  process.exit(1);
};
let header;
try {
  header = decodePng(file);
} catch (error) {
  fail(error.message);
}
if (header.width !== Number(width) || header.height !== Number(height)) {
  fail(`is ${header.width}x${header.height}, not ${width}x${height}`);
}
const {channels, pixels} = header;

let drawn = 0;
const colours = new Set();
for (let i = 0; i < pixels.length; i += channels) {
  const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
  if (r < 240 || g < 240 || b < 240) drawn++;
  colours.add((r >> 4) << 8 | (g >> 4) << 4 | (b >> 4));
}
const share = drawn / (header.width * header.height);
console.log(`png_check ${file}: ${header.width}x${header.height}, ` +
            `${(100 * share).toFixed(2)}% drawn, ${colours.size} colours`);
if (share < 0.005) fail('is blank: under 0.5% of its pixels are drawn');
if (colours.size < 4) fail(`has only ${colours.size} colours`);
