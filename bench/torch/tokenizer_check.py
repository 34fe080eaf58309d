"""Writes <model>/tokenizer-check.json: GLUE dev sentences (never seen by the BPE trainer) and the
ids our Python BPE (tiny_llama.BpeTokenizer) gives them with BOS, for src/io/demo-llm.test.ts to
check that the studio's tokenizer reads the tokenizer.json the same way.

  /usr/bin/python3 bench/torch/tokenizer_check.py public/demo-llm
"""
import json
import sys

from pretrain_tiny_llama import GLUE, read_tsv
from tiny_llama import BpeTokenizer


def main():
    folder = sys.argv[1]
    tokenizer = BpeTokenizer(json.load(open(f'{folder}/tokenizer.json', encoding='utf-8')))
    sentences = [r[0].strip() for r in read_tsv(f'{GLUE}/SST-2/dev.tsv', True)[:8]]
    sentences += [r[3].strip() for r in read_tsv(f'{GLUE}/CoLA/dev.tsv', False)[:8]]
    sentences += [r[7].strip() for r in read_tsv(f'{GLUE}/STS-B/dev.tsv', True)[:8]]
    sentences += ['Review: it was 100% "great", wasn\'t it? Sentiment: positive', 'naïve café — 3.5 stars']
    rows = [{'text': s, 'ids': tokenizer.encode(s)} for s in sentences]
    for row in rows:
        assert tokenizer.decode(row['ids']) == row['text'], row
    with open(f'{folder}/tokenizer-check.json', 'w', encoding='utf-8') as f:
        f.write('{"bos_prepended": true, "rows": [\n')
        f.write(',\n'.join(json.dumps(row, ensure_ascii=False) for row in rows))
        f.write('\n]}\n')


if __name__ == '__main__':
    main()
