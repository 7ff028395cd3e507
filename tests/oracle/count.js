"use strict";
// Reference counts for the differential test: one JSON request per stdin line,
// {"text": "...", "smart": true|false}, answered by one JSON line on stdout,
// {"encoding": "GSM-7"|"UCS-2", "segments": N, "units_per_part": [...]}.

const readline = require("node:readline");
const { SegmentedMessage } = require("sms-segments-calculator");

const BITS_PER_UNIT = { "GSM-7": 7, "UCS-2": 16 };

function countSegments(request) {
  const message = new SegmentedMessage(request.text, "auto", Boolean(request.smart));
  const bitsPerUnit = BITS_PER_UNIT[message.encodingName];
  return {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    units_per_part: message.segments.map((part) => part.messageSizeInBits() / bitsPerUnit),
  };
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  process.stdout.write(`${JSON.stringify(countSegments(JSON.parse(line)))}\n`);
});
