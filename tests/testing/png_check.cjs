#!/usr/bin/env node
// Checks a PNG that a browser rendered: its size, and that it is a picture
// rather than a blank page: enough pixels that are not background white, in
// enough different colours. Decodes the PNG itself (zlib from Node.js; the
// five PNG row filters), so that it needs nothing else.
//
// Usage: png_check.cjs FILE.png WIDTH HEIGHT
'use strict';
const fs = require('fs');
const zlib = require('zlib');

const [file, width, height] = process.argv.slice(2);
const fail = (message) => {
  console.error(`png_check ${file}: ${message}`);
  process.exit(1);
};
const png = fs.readFileSync(file);
if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') fail('not a PNG');

let header;
const data = [];
for (let at = 8; at < png.length;) {
  const length = png.readUInt32BE(at);
  const type = png.toString('ascii', at + 4, at + 8);
  const body = png.subarray(at + 8, at + 8 + length);
  if (type === 'IHDR') {
    header = {width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8],
              colour: body[9], interlace: body[12]};
  }
  if (type === 'IDAT') data.push(body);
  at += 12 + length;
}
if (!header) fail('no IHDR');
if (header.width !== Number(width) || header.height !== Number(height)) {
  fail(`is ${header.width}x${header.height}, not ${width}x${height}`);
}
const channels = {2: 3, 6: 4}[header.colour];
if (header.depth !== 8 || !channels || header.interlace !== 0) {
  fail(`unsupported PNG (depth ${header.depth}, colour type ${header.colour})`);
}

const raw = zlib.inflateSync(Buffer.concat(data));
const stride = header.width * channels;
const pixels = Buffer.alloc(stride * header.height);
for (let y = 0; y < header.height; y++) {
  const filter = raw[y * (stride + 1)];
  const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
  for (let x = 0; x < stride; x++) {
    const left = x >= channels ? pixels[y * stride + x - channels] : 0;
    const up = y > 0 ? pixels[(y - 1) * stride + x] : 0;
    const upLeft = y > 0 && x >= channels ? pixels[(y - 1) * stride + x - channels] : 0;
    let predictor = 0;
    if (filter === 1) predictor = left;
    else if (filter === 2) predictor = up;
    else if (filter === 3) predictor = (left + up) >> 1;
    else if (filter === 4) {
      const p = left + up - upLeft;
      const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
      predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    }
    pixels[y * stride + x] = (row[x] + predictor) & 0xff;
  }
}

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
