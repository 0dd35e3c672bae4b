// Run the named part of a Node walkthrough: print its result as one JSON line, or fail loudly.
"use strict";

function runPart(parts, part) {
  if (!parts[part]) {
    console.error(`unknown part ${part}: one of ${Object.keys(parts).join(", ")}`);
    process.exit(2);
  }
  parts[part]().then((result) => console.log(JSON.stringify(result))).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

module.exports = { runPart };
