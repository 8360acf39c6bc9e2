// node encode.mjs TOKENIZER_DIR DOCS.jsonl > IDS.jsonl
// Encodes each {"text": …} line with @huggingface/tokenizers (pure JS) and prints its ids as a JSON
// array, one line per document, special tokens added as the tokenizer's post-processor says.
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";

const [dir, input] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, "utf8"));
const tokenizer = new Tokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
const out = [];
for (const line of fs.readFileSync(input, "utf8").split("\n")) {
  if (line.trim()) {
    out.push(JSON.stringify(tokenizer.encode(JSON.parse(line).text).ids));
  }
}
process.stdout.write(out.join("\n") + "\n");
