"""Writes fuzz_cases.json: 1000 seeded random strings (ASCII, whitespace of every class, apostrophe
contractions, literal special tokens, BMP and astral code points incl. unassigned and Unicode 16/17 ones)
with the ids HF `tokenizers` gives for tokenizer.json (here: tokenizers 0.21.4, the golden's version,
installed in a throw-away venv with `pip install tokenizers==0.21.4`).
Run: python make_fuzz_cases.py"""
import json, os, random
import tokenizers
from tokenizers import Tokenizer

here = os.path.dirname(os.path.abspath(__file__))
t = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
random.seed(4)
pool = list(" \t\n\r\x0b\x0c\x1c\x1d\x85\xa0\u1680\u2000\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u3000\ufeff\u180e'''sStTrReEvVmMlLdD") + [
    "<s>", "</s>", "<mask>", "<pad>", "<unk>", " <mask>", "'s", "'ll", "'re", "'ve", "n't", "\U00032bbe", "\U00010d4a", "\U0001ccf0"]
def code_point():
    r = random.random()
    if r < 0.4: return chr(random.randint(0x20, 0x7e))
    if r < 0.55: return random.choice(pool)
    if r < 0.7: return chr(random.randint(0x80, 0x2fff))
    if r < 0.8: return chr(random.randint(0x3000, 0xd7ff))
    if r < 0.9: return chr(random.randint(0xe000, 0xffff))
    return chr(random.randint(0x10000, 0x3ffff))
cases = []
for i in range(1000):
    text = "".join(code_point() for _ in range(random.randint(0, 20)))
    cases.append({"name": f"fuzz{i}", "text": text, "input_ids": t.encode(text).ids})
with open(os.path.join(here, "fuzz_cases.json"), "w", encoding="utf-8") as f:
    f.write('{"tokenizers_version": "%s", "cases": [\n' % tokenizers.__version__)
    f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
    f.write("\n]}\n")
print(len(cases), "cases")
